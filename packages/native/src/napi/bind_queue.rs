//! Bindings of [`Queue`]: `queueCreate()` returns an external; every other function takes
//! it first. Slots cross as numbers (-1 for none) and batches as typed arrays.

use super::sys::{napi_type_tag, napi_value};
use super::{Env, JsResult, Thrown, bindings};
use crate::queue::{LEVELS, Queue, QueueError};

static TAG: napi_type_tag = napi_type_tag {
    lower: 0x5357_4254_4348_5051, // "SWBTCHPQ"
    upper: 0x8d1f_3c5e_2a47_b901,
};
const WHAT: &str = "a queue made by queueCreate()";

fn queue<'a>(env: Env, value: napi_value) -> Result<&'a mut Queue, Thrown> {
    env.unwrap(value, &TAG, WHAT)
}

fn refused(env: Env, err: QueueError) -> Thrown {
    match err {
        QueueError::HandlesExhausted => env.range_error("every handle below 2^53 has been issued"),
        QueueError::SlotsExhausted => env.range_error("2^32 - 1 items are already queued"),
        QueueError::BufferTooShort => env.type_error("the output arrays are shorter than levels"),
    }
}

fn level(env: Env, value: napi_value) -> Result<u8, Thrown> {
    let n = env.number(value, "level")?;
    if n.fract() != 0.0 || !(0.0..LEVELS as f64).contains(&n) {
        return Err(env.type_error(&format!("level must be an integer 0..255, got {n}")));
    }
    Ok(n as u8)
}

fn slot(env: Env, slot: Option<u32>) -> JsResult {
    env.double(slot.map_or(-1.0, f64::from))
}

fn create(env: Env, _: [napi_value; 0]) -> JsResult {
    env.external(Queue::new(), &TAG)
}

/// `(q, level) → slot`: the handle is `seq * 256 + level`, the caller counts `seq`.
fn push(env: Env, [q, l]: [napi_value; 2]) -> JsResult {
    let q = queue(env, q)?;
    let (_, s) = q.push(level(env, l)?).map_err(|e| refused(env, e))?;
    env.double(f64::from(s))
}

/// `(q, levels: Uint8Array, handlesOut: Float64Array, slotsOut: Uint32Array) → undefined`.
fn push_many(env: Env, [q, l, h, s]: [napi_value; 4]) -> JsResult {
    let q = queue(env, q)?;
    let levels = env.typed::<u8>(l, "levels")?;
    let handles = env.typed::<f64>(h, "handlesOut")?;
    let slots = env.typed::<u32>(s, "slotsOut")?;
    if handles.len() < levels.len() || slots.len() < levels.len() {
        return Err(env.type_error("handlesOut and slotsOut must be at least as long as levels"));
    }
    env.disjoint(&[
        Env::ranges(&levels),
        Env::ranges(&handles),
        Env::ranges(&slots),
    ])?;
    // SAFETY: live arguments of this call, checked pairwise disjoint above.
    let (levels, handles, slots) = unsafe { (levels.slice(), handles.slice(), slots.slice()) };
    q.push_many(levels, handles, slots)
        .map_err(|e| refused(env, e))?;
    env.undefined()
}

/// `(q) → slot | -1`.
fn pop(env: Env, [q]: [napi_value; 1]) -> JsResult {
    let q = queue(env, q)?;
    let s = q.pop();
    slot(env, s)
}

/// `(q, max, slotsOut: Uint32Array) → count`: at most `min(max, slotsOut.length)` slots.
fn pop_many(env: Env, [q, m, s]: [napi_value; 3]) -> JsResult {
    let q = queue(env, q)?;
    let max = env.number(m, "max")?;
    if max.is_nan() || max < 0.0 {
        return Err(env.type_error(&format!("max must be a number ≥ 0, got {max}")));
    }
    let out = env.typed::<u32>(s, "slotsOut")?;
    // SAFETY: the only slice of this call.
    let out = unsafe { out.slice() };
    let n = (max.floor().min(out.len() as f64)) as usize;
    let popped = q.pop_many(&mut out[..n]);
    env.double(popped as f64)
}

/// `(q) → slot | -1`.
fn peek(env: Env, [q]: [napi_value; 1]) -> JsResult {
    let q = queue(env, q)?;
    slot(env, q.peek())
}

/// `(q, handle) → slot | -1`: a number that is no live handle answers -1.
fn remove(env: Env, [q, h]: [napi_value; 2]) -> JsResult {
    let q = queue(env, q)?;
    if !env.is_number(h) {
        return slot(env, None);
    }
    let handle = env.number(h, "handle")?;
    let s = q.remove(handle);
    slot(env, s)
}

fn size(env: Env, [q]: [napi_value; 1]) -> JsResult {
    let q = queue(env, q)?;
    env.double(q.len() as f64)
}

fn size_at(env: Env, [q, l]: [napi_value; 2]) -> JsResult {
    let q = queue(env, q)?;
    env.double(q.len_at(level(env, l)?) as f64)
}

fn clear(env: Env, [q]: [napi_value; 1]) -> JsResult {
    queue(env, q)?.clear();
    env.undefined()
}

/// `(q) → entries allocated`: lets tests see that an emptied queue gave memory back.
fn capacity(env: Env, [q]: [napi_value; 1]) -> JsResult {
    let q = queue(env, q)?;
    env.double(q.capacity() as f64)
}

/// `(q) → slot span`: the payload array never needs to be longer than this.
fn slot_span(env: Env, [q]: [napi_value; 1]) -> JsResult {
    let q = queue(env, q)?;
    env.double(f64::from(q.slot_span()))
}

bindings! {
    "queueCreate" => js_queue_create(0) = create;
    "queuePush" => js_queue_push(2) = push;
    "queuePushMany" => js_queue_push_many(4) = push_many;
    "queuePop" => js_queue_pop(1) = pop;
    "queuePopMany" => js_queue_pop_many(3) = pop_many;
    "queuePeek" => js_queue_peek(1) = peek;
    "queueRemove" => js_queue_remove(2) = remove;
    "queueSize" => js_queue_size(1) = size;
    "queueSizeAt" => js_queue_size_at(2) = size_at;
    "queueClear" => js_queue_clear(1) = clear;
    "queueCapacity" => js_queue_capacity(1) = capacity;
    "queueSlotSpan" => js_queue_slot_span(1) = slot_span;
}

//! Bindings of [`Limiter`]: `limiterCreate(capacity, refillPerSec, maxKeys)` returns an
//! external; every other function takes it first. Keys cross as u32 ids.

use super::sys::{napi_type_tag, napi_value};
use super::{Env, JsResult, Thrown, bindings};
use crate::limiter::{Limiter, LimiterError};

static TAG: napi_type_tag = napi_type_tag {
    lower: 0x5357_4254_4348_524c, // "SWBTCHRL"
    upper: 0x2b6e_91d4_7c03_f5a8,
};
const WHAT: &str = "a limiter made by limiterCreate()";

fn limiter<'a>(env: Env, value: napi_value) -> Result<&'a mut Limiter, Thrown> {
    env.unwrap(value, &TAG, WHAT)
}

fn finite(env: Env, value: napi_value, arg: &str) -> Result<f64, Thrown> {
    let n = env.number(value, arg)?;
    if !n.is_finite() {
        return Err(env.type_error(&format!("{arg} must be a finite number, got {n}")));
    }
    Ok(n)
}

fn id(env: Env, value: napi_value) -> Result<u32, Thrown> {
    let n = env.number(value, "id")?;
    if n.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&n) {
        return Err(env.type_error(&format!("id must be an integer 0..2^32-1, got {n}")));
    }
    Ok(n as u32)
}

fn refused(env: Env, err: LimiterError) -> Thrown {
    match err {
        LimiterError::InvalidOptions => env.type_error(
            "capacity and refillPerSec must be finite numbers > 0, maxKeys an integer ≥ 1",
        ),
        LimiterError::BadCost(i) => {
            env.type_error(&format!("cost at index {i} must be finite and ≥ 0"))
        }
        LimiterError::UnknownId(i) => {
            env.type_error(&format!("id at index {i} is not a tracked key"))
        }
        LimiterError::BufferTooShort => {
            env.type_error("costs and out must be at least as long as ids")
        }
    }
}

fn create(env: Env, [c, r, m]: [napi_value; 3]) -> JsResult {
    let capacity = env.number(c, "capacity")?;
    let refill = env.number(r, "refillPerSec")?;
    let max_keys = env.number(m, "maxKeys")?;
    let made = Limiter::new(capacity, refill, max_keys).map_err(|e| refused(env, e))?;
    env.external(made, &TAG)
}

/// `(l, now, out: Float64Array) → id`: `out[0]` is the evicted id, or -1.
fn admit(env: Env, [l, n, o]: [napi_value; 3]) -> JsResult {
    let l = limiter(env, l)?;
    let now = finite(env, n, "now")?;
    let out = env.typed::<f64>(o, "out")?;
    if out.len() < 1 {
        return Err(env.type_error("out must hold at least 1 element"));
    }
    let (id, evicted) = l.admit(now);
    // SAFETY: the only slice of this call, length checked above.
    unsafe { out.slice()[0] = evicted.map_or(-1.0, f64::from) };
    env.double(f64::from(id))
}

/// `(l, id, cost, now, out: Float64Array) → wait`: `out[0]` is the tokens left, floored.
fn acquire(env: Env, [l, i, c, n, o]: [napi_value; 5]) -> JsResult {
    let l = limiter(env, l)?;
    let id = id(env, i)?;
    let cost = env.number(c, "cost")?;
    let now = finite(env, n, "now")?;
    let out = env.typed::<f64>(o, "out")?;
    if out.len() < 1 {
        return Err(env.type_error("out must hold at least 1 element"));
    }
    let (wait, remaining) = l.acquire(id, cost, now).map_err(|e| refused(env, e))?;
    // SAFETY: the only slice of this call, length checked above.
    unsafe { out.slice()[0] = remaining };
    env.double(wait)
}

/// `(l, ids: Uint32Array, costs: Float64Array | undefined, now, out: Float64Array) → -1`, or
/// the index of the first bad cost (then nothing was taken).
fn acquire_many(env: Env, [l, i, c, n, o]: [napi_value; 5]) -> JsResult {
    let l = limiter(env, l)?;
    let ids = env.typed::<u32>(i, "ids")?;
    let costs = if env.is_undefined(c) {
        None
    } else {
        Some(env.typed::<f64>(c, "costs")?)
    };
    let now = finite(env, n, "now")?;
    let out = env.typed::<f64>(o, "out")?;
    let mut ranges = vec![Env::ranges(&ids), Env::ranges(&out)];
    if let Some(costs) = &costs {
        ranges.push(Env::ranges(costs));
    }
    env.disjoint(&ranges)?;
    // SAFETY: live arguments of this call, checked pairwise disjoint above.
    let (ids, out) = unsafe { (ids.slice(), out.slice()) };
    let costs = costs.map(|c| unsafe { &*c.slice() });
    match l.acquire_many(ids, costs, now, out) {
        Ok(()) => env.double(-1.0),
        Err(LimiterError::BadCost(at)) => env.double(at as f64),
        Err(e) => Err(refused(env, e)),
    }
}

/// `(l, id) → undefined`: forgets one key (an id not tracked is ignored).
fn release(env: Env, [l, i]: [napi_value; 2]) -> JsResult {
    let l = limiter(env, l)?;
    l.release(id(env, i)?);
    env.undefined()
}

fn reset(env: Env, [l]: [napi_value; 1]) -> JsResult {
    limiter(env, l)?.reset();
    env.undefined()
}

fn key_count(env: Env, [l]: [napi_value; 1]) -> JsResult {
    let l = limiter(env, l)?;
    env.double(l.key_count() as f64)
}

/// `(l) → id slots allocated`: lets tests see that forgetting keys gave memory back.
fn capacity(env: Env, [l]: [napi_value; 1]) -> JsResult {
    let l = limiter(env, l)?;
    env.double(l.capacity() as f64)
}

bindings! {
    "limiterCreate" => js_limiter_create(3) = create;
    "limiterAdmit" => js_limiter_admit(3) = admit;
    "limiterAcquire" => js_limiter_acquire(5) = acquire;
    "limiterAcquireMany" => js_limiter_acquire_many(5) = acquire_many;
    "limiterRelease" => js_limiter_release(2) = release;
    "limiterReset" => js_limiter_reset(1) = reset;
    "limiterKeyCount" => js_limiter_key_count(1) = key_count;
    "limiterCapacity" => js_limiter_capacity(1) = capacity;
}

import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

/** A line of a {@link Plot}: its label, its colour (a CSS variable's name) and its values. */
export interface Line {
  label: string;
  color: string;
  values: readonly number[];
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

function options(
  lines: readonly Line[],
  height: number,
  spark: boolean,
  unit: string,
): uPlot.Options {
  const axis: uPlot.Axis = {
    stroke: cssVar('--muted'),
    grid: { stroke: cssVar('--grid'), width: 1 },
    ticks: { stroke: cssVar('--grid'), width: 1 },
  };
  return {
    width: 300,
    height,
    legend: { show: !spark },
    cursor: { show: !spark },
    axes: spark
      ? [{ show: false }, { show: false }]
      : [axis, { ...axis, size: 70, values: (_u, ticks) => ticks.map((t) => `${t}${unit}`) }],
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    series: [
      {},
      ...lines.map((line) => ({
        label: line.label,
        stroke: cssVar(line.color),
        width: spark ? 1.5 : 2,
        ...(spark ? { fill: `${cssVar(line.color)}33` } : {}),
        points: { show: false },
      })),
    ],
  };
}

/**
 * A live time series drawn by uPlot: the plot is made once, then given new data as the
 * series grow, and follows its container's width.
 */
export function Plot(props: {
  t: readonly number[];
  lines: readonly Line[];
  height?: number;
  spark?: boolean;
  unit?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = [props.t, ...props.lines.map((l) => l.values)] as unknown as uPlot.AlignedData;
  useEffect(() => {
    const el = box.current!;
    const u = new uPlot(
      options(props.lines, props.height ?? 180, props.spark === true, props.unit ?? ''),
      data,
      el,
    );
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: el.clientWidth, height: u.height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, []);
  useEffect(() => {
    plot.current?.setData(data);
  });
  return html`<div class=${props.spark ? 'spark' : 'plot'} ref=${box}></div>`;
}

// Two small canvas charts, redrawn from scratch on every update (the data are tiny).

export interface Line {
  label: string;
  color: string;
  points: { x: number; y: number }[];
}

interface Axes {
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  descendingX?: boolean;
  yFormat?: (v: number) => string;
}

export function drawChart(canvas: HTMLCanvasElement, lines: Line[], axes: Axes): void {
  const ctx = canvas.getContext("2d")!;
  const { width: W, height: H } = canvas;
  const [left, right, top, bottom] = [56, 130, 16, 40];
  ctx.clearRect(0, 0, W, H);
  ctx.font = "12px system-ui, sans-serif";
  const all = lines.flatMap((l) => l.points);
  if (all.length === 0) {
    ctx.fillStyle = "#888";
    ctx.fillText("waiting for data…", W / 2 - 50, H / 2);
    return;
  }
  const fx = (x: number): number => (axes.logX ? Math.log10(x) : x);
  let [x0, x1] = [Math.min(...all.map((p) => fx(p.x))), Math.max(...all.map((p) => fx(p.x)))];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  let [y0, y1] = [Math.min(...all.map((p) => p.y)), Math.max(...all.map((p) => p.y))];
  const pad = (y1 - y0) * 0.08 || Math.abs(y1) * 0.02 || 1;
  [y0, y1] = [y0 - pad, y1 + pad];
  const px = (x: number): number => {
    const t = (fx(x) - x0) / (x1 - x0);
    return left + (axes.descendingX ? 1 - t : t) * (W - left - right);
  };
  const py = (y: number): number => top + ((y1 - y) / (y1 - y0)) * (H - top - bottom);
  ctx.strokeStyle = "#ccc";
  ctx.strokeRect(left, top, W - left - right, H - top - bottom);
  ctx.fillStyle = "#444";
  for (let i = 0; i <= 4; i++) {
    const y = y0 + ((y1 - y0) * i) / 4;
    ctx.fillText((axes.yFormat ?? ((v) => v.toFixed(2)))(y), 4, py(y) + 4);
  }
  ctx.fillText(axes.xLabel, left + (W - left - right) / 2 - 60, H - 8);
  const xs = [...new Set(all.map((p) => p.x))].sort((a, b) => a - b);
  const step = Math.max(1, Math.ceil(xs.length / 6));
  xs.forEach((x, i) => {
    if (i % step === 0) ctx.fillText(x >= 100 || !axes.logX ? x.toFixed(0) : x.toFixed(1), px(x) - 10, H - bottom + 16);
  });
  lines.forEach((line, i) => {
    ctx.strokeStyle = line.color;
    ctx.fillStyle = line.color;
    ctx.lineWidth = 2;
    const pts = [...line.points].sort((a, b) => a.x - b.x);
    ctx.beginPath();
    pts.forEach((p, j) => (j ? ctx.lineTo(px(p.x), py(p.y)) : ctx.moveTo(px(p.x), py(p.y))));
    ctx.stroke();
    if (pts.length < 40) for (const p of pts) ctx.fillRect(px(p.x) - 2, py(p.y) - 2, 4, 4);
    ctx.fillRect(W - right + 10, top + 10 + i * 18, 14, 3);
    ctx.fillStyle = "#333";
    ctx.fillText(line.label, W - right + 30, top + 15 + i * 18);
  });
}

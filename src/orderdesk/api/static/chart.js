// The day's P&L over time, in total and per strategy, updated live.
//
// Drawn as inline SVG by these ~100 lines rather than with a charting library: a library
// (uPlot, Chart.js) could not be fetched where this was built, and a few polylines need none.
// The whole curve comes from GET /api/pnl when the page opens; each status message on the
// stream carries the latest point, appended when it is newer.
import { $, api, el, money, on, signClass, state, time } from "./core.js";

const SVG = "http://www.w3.org/2000/svg";
// Same order as .swatch.s0… in app.css (the CSP allows no inline styles).
const COLOURS = ["#1f6feb", "#bf3989", "#1a7f37", "#9a6700", "#8250df", "#0a7ea4", "#cf222e"];
const HEIGHT = 200;
const PAD = { left: 64, right: 12, top: 10, bottom: 22 };
let points = [];

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function seriesNames() {
  const names = new Set();
  for (const p of points) for (const name of Object.keys(p.strategies)) names.add(name);
  return ["total", ...[...names].sort()];
}

function value(point, name) {
  return Number(name === "total" ? point.total : point.strategies[name] ?? 0);
}

function draw() {
  const box = $("pnl-chart");
  const width = Math.max(240, Math.floor(box.clientWidth));
  const chart = svg("svg", { viewBox: `0 0 ${width} ${HEIGHT}`, width: "100%", height: HEIGHT, role: "img", "aria-label": "P&L over time" });
  const names = seriesNames();
  box.dataset.points = String(points.length);
  if (points.length === 0) {
    chart.append(svg("text", { x: width / 2, y: HEIGHT / 2, "text-anchor": "middle", class: "chart-empty" }, "No P&L yet today."));
    box.replaceChildren(chart);
    renderLegend(names);
    return;
  }
  const times = points.map((p) => Date.parse(p.at));
  const values = points.flatMap((p) => names.map((n) => value(p, n)));
  let [lo, hi] = [Math.min(0, ...values), Math.max(0, ...values)];
  if (hi === lo) { hi += 1; lo -= 1; }
  const [t0, t1] = [times[0], Math.max(times[times.length - 1], times[0] + 1000)];
  const x = (t) => PAD.left + ((t - t0) / (t1 - t0)) * (width - PAD.left - PAD.right);
  const y = (v) => PAD.top + ((hi - v) / (hi - lo)) * (HEIGHT - PAD.top - PAD.bottom);
  chart.append(
    svg("line", { x1: PAD.left, x2: width - PAD.right, y1: y(0), y2: y(0), class: "chart-zero" }),
    svg("text", { x: PAD.left - 6, y: y(hi) + 4, "text-anchor": "end", class: "chart-axis" }, money(hi)),
    svg("text", { x: PAD.left - 6, y: y(lo), "text-anchor": "end", class: "chart-axis" }, money(lo)),
    svg("text", { x: PAD.left, y: HEIGHT - 4, class: "chart-axis" }, time(points[0].at)),
    svg("text", { x: width - PAD.right, y: HEIGHT - 4, "text-anchor": "end", class: "chart-axis" }, time(points[points.length - 1].at)),
  );
  names.forEach((name, i) => {
    // A step line: P&L holds its value until the next sample.
    let d = "";
    points.forEach((p, j) => {
      const [px, py] = [x(times[j]), y(value(p, name))];
      d += j === 0 ? `M${px.toFixed(1)},${py.toFixed(1)}` : `H${px.toFixed(1)}V${py.toFixed(1)}`;
    });
    chart.append(svg("path", { d, fill: "none", stroke: COLOURS[i % COLOURS.length], "stroke-width": name === "total" ? 2.5 : 1.5, "data-series": name }));
  });
  box.replaceChildren(chart);
  renderLegend(names);
}

function renderLegend(names) {
  const last = points[points.length - 1];
  $("pnl-legend").replaceChildren(...names.map((name, i) => {
    const v = last ? value(last, name) : 0;
    return el("li", { "data-series": name },
      el("span", { class: `swatch s${i % COLOURS.length}` }),
      `${name} `, el("span", { class: `num ${signClass(v)}`, "data-field": "pnl" }, money(v)));
  }));
}

async function load() {
  try {
    const series = await api("/api/pnl");
    points = series.points;
    draw();
  } catch (error) { /* the stream's next points still arrive */ }
}

on("signed-in", load);
on("status", () => {
  const point = state.pnl;
  if (!point) return;
  const last = points[points.length - 1];
  if (last && Date.parse(point.at) <= Date.parse(last.at)) return;
  points.push(point);
  draw();
});
document.addEventListener("DOMContentLoaded", () => {
  new ResizeObserver(() => { if (!$("desk").hidden) draw(); }).observe($("pnl-chart"));
});

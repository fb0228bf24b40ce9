// The day's P&L over time, in total and per strategy, updated live.
//
// Drawn by uPlot 1.6.30 (MIT; vendored as uPlot.iife.min.js, uPlot.min.css and uPlot.LICENSE
// beside this file, loaded by index.html before the modules; nothing is fetched at run time).
// The whole curve comes from GET /api/pnl when the page opens; each status message on the
// stream carries the latest point, appended when it is newer. The legend below the chart is
// the page's own (the latest value of each line, as text a test or a screen reader can read).
import { $, api, deskNow, el, istDate, minute, money, on, signClass, state, TIME_ZONE } from "./core.js";

// Same order as .swatch.s0… in app.css (the CSP allows no inline style attributes).
const COLOURS = ["#1f6feb", "#bf3989", "#1a7f37", "#9a6700", "#8250df", "#0a7ea4", "#cf222e"];
const HEIGHT = 200;
const MIN_SPAN_S = 10 * 60; // the x-axis spans at least this: ticks a minute or more apart
let points = [];
let plot = null;
let plotted = "";

function seriesNames() {
  const names = new Set();
  for (const p of points) for (const name of Object.keys(p.strategies)) names.add(name);
  return ["total", ...[...names].sort()];
}

function value(point, name) {
  return Number(name === "total" ? point.total : point.strategies[name] ?? 0);
}

function width() {
  return Math.max(240, Math.floor($("pnl-chart").clientWidth));
}

function data(names) {
  // P&L holds its value until the next sample: a lone point is drawn on to the desk's now (uPlot
  // would spread a single point over years); the x scale's range keeps the axis minutes wide.
  const at = points.length === 1 ? Date.parse(points[0].at) : 0;
  const shown = points.length === 1 ? [points[0], { ...points[0], at: new Date(Math.max(deskNow(), at + 1000)).toISOString() }] : points;
  return [shown.map((p) => Date.parse(p.at) / 1000), ...names.map((n) => shown.map((p) => value(p, n)))];
}

// Tick spacings of the x-axis, in seconds: whole minutes and up, so no two ticks share the
// minute their labels read (uPlot's own start at a second and put a wide chart's 30 s apart).
const X_INCRS = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

/** The x-axis labels, IST minutes; kept as text on the chart's box too (the canvas is not).
 * A tick that would repeat the minute before it stays unlabelled. */
function xLabels(u, ticks) {
  const labels = ticks.map((t, i) => {
    const label = minute(t * 1000);
    return i > 0 && label === minute(ticks[i - 1] * 1000) ? "" : label;
  });
  $("pnl-chart").dataset.ticks = labels.filter(Boolean).join(" ");
  return labels;
}

function create(names) {
  if (plot) plot.destroy();
  // The canvas cannot read CSS variables: the page's colours (light or dark) are handed over.
  const css = getComputedStyle(document.documentElement);
  const axis = { stroke: css.getPropertyValue("--muted").trim(), grid: { stroke: css.getPropertyValue("--line").trim() }, ticks: { stroke: css.getPropertyValue("--line").trim() } };
  const options = {
    width: width(),
    height: HEIGHT,
    legend: { show: false },
    cursor: { y: false, points: { show: false } },
    scales: { x: { time: true, range: (u, min, max) => (max - min >= MIN_SPAN_S ? [min, max] : [min, min + MIN_SPAN_S]) } },
    // Ticks fall on IST minutes and read as IST times, whatever the browser's zone.
    tzDate: (ts) => globalThis.uPlot.tzDate(new Date(ts * 1000), TIME_ZONE),
    axes: [{ ...axis, incrs: X_INCRS, values: xLabels }, { ...axis, size: 70, values: (u, ticks) => ticks.map(money) }],
    series: [{}, ...names.map((name, i) => ({
      label: name, stroke: COLOURS[i % COLOURS.length], width: name === "total" ? 2.5 : 1.5,
      paths: globalThis.uPlot.paths.stepped({ align: 1 }), value: (u, v) => money(v),
    }))],
  };
  plot = new globalThis.uPlot(options, data(names), $("pnl-chart"));
  plotted = names.join("\n");
}

function draw() {
  const box = $("pnl-chart");
  const names = seriesNames();
  box.dataset.points = String(points.length);
  box.dataset.series = names.join(" ");
  $("pnl-empty").hidden = points.length > 0;
  if (points.length === 0) return;
  // A new strategy is a new line: uPlot's series are fixed per plot, so it is made again.
  if (!plot || plotted !== names.join("\n")) create(names);
  else plot.setData(data(names));
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

let asked = 0;

async function load() {
  const mine = ++asked;
  try {
    const series = await api("/api/pnl");
    if (mine !== asked) return;
    // Points the stream brought while asking (newer than the answer's) stay.
    const last = series.points[series.points.length - 1];
    const newer = points.filter((p) => !last || Date.parse(p.at) > Date.parse(last.at));
    points = [...series.points, ...newer].filter((p) => sameDay(p, [...series.points, ...newer].at(-1)));
    draw();
  } catch (error) { /* the stream's next points still arrive */ }
}

/** The curve is one trading day's: a point of a later (IST) day starts a new one. */
function sameDay(a, b) { return istDate(Date.parse(a.at)) === istDate(Date.parse(b.at)); }

function restart() {
  // Yesterday's curve goes at once; the new day's is read whole.
  points = [];
  if (plot) plot.destroy();
  plot = null; plotted = "";
  $("pnl-legend").replaceChildren();
  draw();
  load();
}

on("signed-in", load);
on("desk-back", load);
on("event", (event) => { if (event.type === "DayOpened") restart(); });  // a new day's curve
on("signed-out", () => { if (plot) plot.destroy(); plot = null; plotted = ""; points = []; });
on("status", () => {
  const point = state.pnl;
  if (!point) return;
  const last = points[points.length - 1];
  if (last && Date.parse(point.at) <= Date.parse(last.at)) return;
  if (last && !sameDay(last, point)) points = [];
  points.push(point);
  draw();
});
document.addEventListener("DOMContentLoaded", () => {
  new ResizeObserver(() => {
    if (plot && !$("desk").hidden) plot.setSize({ width: width(), height: HEIGHT });
  }).observe($("pnl-chart"));
});

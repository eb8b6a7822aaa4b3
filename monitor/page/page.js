// The replay report page: draws the strip and the charts from the inlined, gzipped data.
// Hand-written SVG and one canvas (the strip), no library: docs/benchmarks.md has the sizes
// of the libraries measured against it. No network: everything comes from this file.
"use strict";

const TIERS = ["none", "info", "warning", "critical"];
const TIER_COLOURS = ["#e9eef2", "#8fb8de", "#f0a848", "#c62f2f"];
const NS = "http://www.w3.org/2000/svg";

function h(tag, attrs, text, parent) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined && text !== null) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function s(tag, attrs, parent, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function fmt(v, pct) {
  if (v === null || v === undefined) return "n/a";
  if (pct) return (v * 100).toFixed(v < 0.01 && v > 0 ? 2 : 1) + "%";
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1000 || a < 0.001 ? v.toExponential(2) : v.toPrecision(3);
}

function hhmm(iso) {
  return iso.length >= 16 ? iso.slice(0, 10) + " " + iso.slice(11, 16) : iso;
}

function tierBadge(tier, parent) {
  return h("span", { class: "tier t" + tier }, TIERS[tier].toUpperCase(), parent);
}

// ---- the strip: windows x columns on one canvas, coloured and patterned by tier ----------

function tierPatterns(ctx) {
  const out = [];
  for (let t = 0; t < 4; t++) {
    const c = document.createElement("canvas");
    c.width = 6;
    c.height = 6;
    const g = c.getContext("2d");
    g.fillStyle = TIER_COLOURS[t];
    g.fillRect(0, 0, 6, 6);
    g.fillStyle = "#000";
    g.strokeStyle = "#000";
    if (t === 1) g.fillRect(2, 2, 1, 1);
    if (t === 2) {
      g.beginPath();
      g.moveTo(0, 6);
      g.lineTo(6, 0);
      g.stroke();
    }
    if (t === 3) {
      g.beginPath();
      g.moveTo(0, 6);
      g.lineTo(6, 0);
      g.moveTo(0, 0);
      g.lineTo(6, 6);
      g.stroke();
    }
    out.push(ctx.createPattern(c, "repeat"));
  }
  return out;
}

const LABEL_W = 150;
const ROW_H = 13;

function drawStrip(view) {
  const { canvas, model, rows } = view;
  const n = model.windows.tier.length;
  const width = canvas.parentElement.clientWidth;
  const ratio = window.devicePixelRatio || 1;
  const height = ROW_H * rows.length + 18;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.width = width + "px";
  canvas.style.height = height + "px";
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  const patterns = tierPatterns(ctx);
  const cell = (width - LABEL_W) / Math.max(n, 1);
  view.cell = cell;
  ctx.font = "11px system-ui, sans-serif";
  ctx.textBaseline = "middle";
  rows.forEach((row, r) => {
    const y = 14 + r * ROW_H;
    ctx.fillStyle = "#222";
    ctx.fillText(row.label, 2, y + ROW_H / 2, LABEL_W - 6);
    for (let i = 0; i < n; i++) {
      const x0 = Math.floor(LABEL_W + i * cell);
      const x1 = Math.floor(LABEL_W + (i + 1) * cell);
      ctx.fillStyle = patterns[row.tier[i]];
      ctx.fillRect(x0, y, Math.max(x1 - x0, 1), ROW_H - 1);
    }
  });
  const i = view.selected;
  const x = LABEL_W + i * cell;
  ctx.strokeStyle = "#000";
  ctx.lineWidth = 2;
  ctx.strokeRect(x - 1, 13, Math.max(cell, 2) + 2, ROW_H * rows.length + 1);
  ctx.fillStyle = "#000";
  ctx.beginPath();
  ctx.moveTo(x + cell / 2 - 5, 2);
  ctx.lineTo(x + cell / 2 + 5, 2);
  ctx.lineTo(x + cell / 2, 11);
  ctx.fill();
}

function stripWindowAt(view, event) {
  const rect = view.canvas.getBoundingClientRect();
  const i = Math.floor((event.clientX - rect.left - LABEL_W) / view.cell);
  const n = view.model.windows.tier.length;
  if (i < 0 || i >= n) return null;
  const r = Math.floor((event.clientY - rect.top - 14) / ROW_H);
  return { i, row: view.rows[r] };
}

// ---- charts --------------------------------------------------------------------------------

const CW = 560;

function histogram(parent) {
  const svg = s("svg", { class: "chart hist", viewBox: `0 0 ${CW} 190`, role: "img" }, parent);
  return svg;
}

function drawHistogram(svg, column, counts, selectedTier) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const slots = column.labels.length;
  const total = counts.reduce((a, b) => a + b, 0);
  const cur = counts.map((c) => (total ? c / total : 0));
  const base = column.baseline;
  const top = Math.max(0.01, ...cur, ...base) * 1.08;
  const left = 44;
  const bottom = column.kind === "categorical" ? 130 : 160;
  const plotH = bottom - 8;
  const bw = (CW - left - 6) / slots;
  const y = (v) => bottom - (v / top) * plotH;
  s("title", {}, svg, `${column.name}: baseline vs this window (share of values per bin)`);
  for (const t of [0, top / 2, top]) {
    s("line", { x1: left, x2: CW - 4, y1: y(t), y2: y(t), class: "grid" }, svg);
    s("text", { x: left - 4, y: y(t) + 4, class: "axis end" }, svg, fmt(t, true));
  }
  for (let k = 0; k < slots; k++) {
    const x = left + k * bw;
    const w = Math.max(bw / 2 - 1, 1);
    s("rect", { x, y: y(base[k]), width: w, height: bottom - y(base[k]), class: "base" }, svg);
    s("rect", {
      x: x + bw / 2,
      y: y(cur[k]),
      width: w,
      height: bottom - y(cur[k]),
      class: "cur t" + selectedTier,
      "data-slot": k,
    }, svg);
    const label = column.labels[k];
    if (column.kind === "categorical") {
      s("text", {
        x: x + bw / 2,
        y: bottom + 10,
        class: "axis rot",
        transform: `rotate(40 ${x + bw / 2} ${bottom + 10})`,
      }, svg, label.length > 12 ? label.slice(0, 11) + "…" : label);
    }
  }
  if (column.kind === "numeric") {
    const step = Math.max(1, Math.ceil(slots / 6));
    for (let k = 1; k < slots - 1; k += step) {
      const edge = column.labels[k].slice(1).split(",")[0];
      s("text", { x: left + k * bw, y: bottom + 14, class: "axis mid" }, svg, edge);
    }
    s("text", { x: left + bw / 2, y: bottom + 26, class: "axis mid" }, svg, "below");
    s("text", { x: left + (slots - 0.5) * bw, y: bottom + 26, class: "axis mid" }, svg, "above");
  }
}

function timeChart(parent, n, opts) {
  const H = 120;
  const left = 44;
  const bottom = H - 16;
  const svg = s("svg", { class: "chart time", viewBox: `0 0 ${CW} ${H}`, role: "img" }, parent);
  s("title", {}, svg, opts.title);
  const x = (i) => left + (n > 1 ? (i / (n - 1)) * (CW - left - 8) : (CW - left) / 2);
  const y = (v) => bottom - (Math.min(opts.transform(v), opts.top) / opts.top) * (bottom - 8);
  for (const t of opts.ticks) {
    s("line", { x1: left, x2: CW - 4, y1: y(t.v), y2: y(t.v), class: t.cls || "grid" }, svg);
    s("text", { x: left - 4, y: y(t.v) + 4, class: "axis end" }, svg, t.label);
    if (t.name) s("text", { x: CW - 6, y: y(t.v) - 3, class: "axis end thr" }, svg, t.name);
  }
  opts.series.forEach((series, k) => {
    let d = "";
    let pen = false;
    for (let i = 0; i < n; i++) {
      const v = series.values[i];
      if (v === null || v === undefined) {
        pen = false;
        continue;
      }
      d += (pen ? "L" : "M") + x(i).toFixed(1) + " " + y(v).toFixed(1);
      pen = true;
    }
    s("path", { d, class: "line s" + k }, svg);
  });
  const cursor = s("line", { y1: 6, y2: bottom, class: "cursor" }, svg);
  s("text", { x: left, y: H - 3, class: "axis" }, svg, opts.caption);
  return (i) => {
    cursor.setAttribute("x1", x(i));
    cursor.setAttribute("x2", x(i));
  };
}

function effectChart(parent, column, n) {
  const thr = column.effect_thresholds;
  const values = column.effect_values;
  const peak = Math.max(0, ...values.filter((v) => v !== null));
  const top = Math.max(thr.critical * 1.5, Math.min(peak, thr.critical * 4)) * 1.05 || 1;
  const ticks = [{ v: 0, label: "0" }];
  const seen = new Set();
  for (const name of ["info", "warning", "critical"]) {
    const v = thr[name];
    if (seen.has(v)) continue;
    seen.add(v);
    const names = ["info", "warning", "critical"].filter((t) => thr[t] === v).join("/");
    ticks.push({ v, label: fmt(v), cls: "thr-line", name: names });
  }
  const clipped = peak > top ? `, clipped at ${fmt(top)} (peak ${fmt(peak)})` : "";
  return timeChart(parent, n, {
    title: `${column.name}: ${column.effect} over time with its tier thresholds`,
    transform: (v) => v,
    top,
    ticks,
    series: [{ values }],
    caption: `${column.effect} per window; dashed: thresholds${clipped}`,
  });
}

function pValueChart(parent, column, n) {
  const cap = 20;
  const tr = (p) => -Math.log10(Math.max(p, 1e-300));
  const alpha = column.alpha;
  return timeChart(parent, n, {
    title: `${column.name}: drift test p-value over time`,
    transform: tr,
    top: cap,
    ticks: [
      { v: 1, label: "1" },
      { v: 1e-10, label: "1e-10" },
      { v: alpha, label: String(alpha), cls: "thr-line", name: "alpha" },
    ],
    series: [{ values: column.p_values }],
    caption: "p-value (adjusted), log scale, higher up = more significant; below 1e-20 drawn at top",
  });
}

function qualityChart(parent, column, n) {
  const q = column.quality;
  const all = [].concat(q.missing_rate, q.type_error_rate, q.out_of_range_rate, q.new_category_rate);
  const peak = Math.max(0.02, ...all.filter((v) => v !== null));
  const top = peak * 1.1;
  return timeChart(parent, n, {
    title: `${column.name}: data-quality rates over time`,
    transform: (v) => v,
    top,
    ticks: [
      { v: 0, label: "0%" },
      { v: peak, label: fmt(peak, true) },
    ],
    series: [
      { values: q.missing_rate },
      { values: q.type_error_rate },
      { values: q.out_of_range_rate },
      { values: q.new_category_rate },
    ],
    caption: "— missing  - - type error  ··· out of range  -·- new category",
  });
}

// ---- the page ------------------------------------------------------------------------------

function countsSection(data, app) {
  const c = data.counts;
  const sec = h("section", { id: "counts" }, null, app);
  h("h2", {}, "Events", sec);
  const p = h("p", {}, null, sec);
  p.textContent =
    `${c.read.toLocaleString()} read, ${c.accepted.toLocaleString()} accepted, ` +
    `${c.rejected_total.toLocaleString()} rejected` +
    (c.reconciles ? " (read = accepted + rejected)" : " (DO NOT RECONCILE)");
  const reasons = Object.entries(c.rejected);
  if (reasons.length) {
    const t = h("table", { class: "counts" }, null, sec);
    const head = h("tr", {}, null, t);
    h("th", {}, "rejected because", head);
    h("th", {}, "events", head);
    for (const [reason, n] of reasons) {
      const tr = h("tr", {}, null, t);
      h("td", {}, reason, tr);
      h("td", { class: "num" }, n.toLocaleString(), tr);
    }
  }
  const sum = data.summary;
  const by = sum.windows_by_tier;
  h("p", {}, `Windows: ${sum.windows.toLocaleString()} closed, ${sum.windows_evaluated.toLocaleString()} ` +
    `evaluated; by model tier: none ${by.none}, info ${by.info}, warning ${by.warning}, ` +
    `critical ${by.critical}. Inputs: ${data.inputs.join(", ")}.`, sec);
  for (const w of sum.warnings) h("p", { class: "warn" }, "! " + w, sec);
}

function alertList(notifications, parent, onShow) {
  const alerts = [];
  for (const n of notifications) for (const a of n.alerts || []) alerts.push([n, a]);
  h("h3", {}, `Alerts (${alerts.length})`, parent);
  if (!alerts.length) {
    h("p", {}, "No alert would have been sent.", parent);
    return;
  }
  const box = h("div", { class: "alerts" }, null, parent);
  for (const [n, a] of alerts) {
    const d = h("details", { class: "alert" }, null, box);
    const sum = h("summary", {}, null, d);
    tierBadge(TIERS.indexOf(a.tier), sum);
    h("span", {}, ` ${n.created_at} → ${n.receiver}: ${a.status} ${a.title}`, sum);
    h("h4", {}, "What happened", d);
    const ul = h("ul", {}, null, d);
    for (const line of a.what_happened) h("li", {}, line, ul);
    h("h4", {}, "Why it matters", d);
    h("p", {}, a.why_it_matters, d);
    h("h4", {}, "What to do", d);
    const ol = h("ul", {}, null, d);
    if (a.runbook_url) {
      const li = h("li", {}, "Runbook: ", ol);
      h("a", { href: a.runbook_url }, a.runbook_url, li);
    }
    for (const step of a.what_to_do) h("li", {}, step, ol);
    const btn = h("button", { type: "button" }, "Show this window", d);
    btn.addEventListener("click", () => onShow(a.window_end));
  }
}

function digestList(notifications, app) {
  const digests = notifications.filter((n) => !n.alerts);
  if (!digests.length) return;
  const sec = h("section", { id: "digests" }, null, app);
  h("h2", {}, `Digests (${digests.length})`, sec);
  for (const n of digests) h("p", {}, `${n.created_at} → ${n.receiver}: digest`, sec);
}

function modelSection(model, app, notifications, counts) {
  const n = model.windows.tier.length;
  const sec = h("section", { class: "model", id: "model-" + model.model_id }, null, app);
  const accepted = (counts.accepted_by_model[model.model_id] || 0).toLocaleString();
  h("h2", {}, `Model ${model.model_id} (baseline v${model.baseline_version ?? "?"}, ` +
    `${n.toLocaleString()} windows, ${accepted} events accepted)`, sec);
  if (n === 0) {
    h("p", { class: "placeholder" }, "No window of this model closed: nothing to draw.", sec);
    return null;
  }
  const legend = h("p", { class: "legend" }, "Tier per window (columns) and column (rows): ", sec);
  for (let t = 0; t < 4; t++) {
    tierBadge(t, legend);
    legend.appendChild(document.createTextNode(" "));
  }
  h("span", {}, " — click a window (or use ← →) to show its histograms.", legend);
  const wrap = h("div", { class: "strip-wrap" }, null, sec);
  const canvas = h("canvas", {
    class: "strip",
    id: "strip-" + model.model_id,
    tabindex: "0",
    role: "img",
    "aria-label": `tiers of ${model.model_id} per window and column`,
  }, null, wrap);
  const hover = h("p", { class: "hover" }, "\u00a0", sec);
  const rows = [{ label: "model", tier: model.windows.tier }];
  const ordered = model.columns.filter((c) => c.role === "feature")
    .concat(model.columns.filter((c) => c.role === "output"));
  for (const c of ordered) rows.push({ label: (c.role === "output" ? "out: " : "") + c.name, tier: c.tier });
  const picked = h("div", { class: "picked" }, null, sec);
  const view = { model, canvas, rows, selected: defaultWindow(model), cards: [], picked };
  const mine = notifications
    .map((n) => ({ ...n, alerts: (n.alerts || []).filter((a) => a.model === model.model_id) }))
    .filter((n) => n.alerts.length);
  alertList(mine, sec, (end) => {
    const i = model.windows.end.indexOf(end);
    if (i >= 0) {
      selectWindow(view, i);
      canvas.scrollIntoView({ block: "center" });
    }
  });

  const groups = [["Features", "feature"], ["Outputs", "output"]];
  for (const [title, role] of groups) {
    const cols = model.columns.filter((c) => c.role === role);
    if (!cols.length) continue;
    h("h3", {}, title, sec);
    h("p", { class: "note" },
      "Histograms: hollow bars the baseline (training), filled bars the chosen window, per " +
      "baseline bin (numeric bins hold equal training shares; 'below'/'above' are out of range). " +
      "Over time: the drift effect size with its tier thresholds, the drift test's p-value, and " +
      "the data-quality rates; the vertical line is the chosen window.", sec);
    const grid = h("div", { class: "grid" }, null, sec);
    for (const column of cols) view.cards.push(columnCard(column, n, grid));
  }
  performanceSection(model, sec, view);

  canvas.addEventListener("click", (e) => {
    const at = stripWindowAt(view, e);
    if (at) selectWindow(view, at.i);
  });
  canvas.addEventListener("mousemove", (e) => {
    const at = stripWindowAt(view, e);
    if (!at) return;
    const w = model.windows;
    const row = at.row ? `${at.row.label}: ${TIERS[at.row.tier[at.i]]}` : "";
    hover.textContent = `window ${hhmm(w.start[at.i])} to ${hhmm(w.end[at.i])} · ${row}`;
  });
  canvas.addEventListener("keydown", (e) => {
    if (e.key === "ArrowLeft") selectWindow(view, Math.max(0, view.selected - 1));
    else if (e.key === "ArrowRight") selectWindow(view, Math.min(n - 1, view.selected + 1));
    else return;
    e.preventDefault();
  });
  selectWindow(view, view.selected);
  return view;
}

function defaultWindow(model) {
  // An alert's `report_url` can name its window: #window=<window end, RFC 3339>.
  const asked = new URLSearchParams(location.hash.slice(1)).get("window");
  const named = asked ? model.windows.end.indexOf(asked) : -1;
  if (named >= 0) return named;
  const t = model.windows.tier;
  const top = Math.max(...t);
  return top > 0 ? t.indexOf(top) : Math.max(t.length - 1, 0);
}

function columnCard(column, n, grid) {
  const card = h("article", { class: "card", id: "col-" + column.name }, null, grid);
  const head = h("h4", {}, null, card);
  h("span", {}, `${column.name} `, head);
  h("small", {}, `${column.role}, ${column.kind} `, head);
  const badge = h("span", {}, null, head);
  const stats = h("p", { class: "stats" }, null, card);
  const hist = histogram(card);
  const cursors = [effectChart(card, column, n), pValueChart(card, column, n), qualityChart(card, column, n)];
  const q = column.quality_thresholds;
  h("p", { class: "note" },
    `Quality thresholds (info/warning/critical): missing increase ${fmt(q.missing_increase.info, true)}/` +
    `${fmt(q.missing_increase.warning, true)}/${fmt(q.missing_increase.critical, true)} over the baseline's ` +
    `${fmt(column.baseline_missing_rate, true)}; out of range ${fmt(q.out_of_range_rate.warning, true)} (warning); ` +
    `new category ${fmt(q.new_category_rate.warning, true)} (warning).`, card);
  return { column, badge, stats, hist, cursors };
}

function updateCard(card, i) {
  const c = card.column;
  const slots = c.labels.length;
  const counts = c.counts.slice(i * slots, (i + 1) * slots);
  const tier = c.tier[i];
  card.badge.textContent = "";
  tierBadge(tier, card.badge);
  const q = c.quality;
  const total = counts.reduce((a, b) => a + b, 0);
  card.stats.textContent =
    `this window: ${c.effect} ${fmt(c.effect_values[i])} · p ${fmt(c.p_values[i])} · ` +
    `n ${total.toLocaleString()} · missing ${fmt(q.missing_rate[i], true)} · ` +
    `type errors ${fmt(q.type_error_rate[i], true)}` +
    (c.kind === "numeric" ? ` · out of range ${fmt(q.out_of_range_rate[i], true)}` : ` · new ${fmt(q.new_category_rate[i], true)}`);
  drawHistogram(card.hist, c, counts, tier);
  for (const move of card.cursors) move(i);
}

function performanceSection(model, sec, view) {
  const box = h("section", { class: "performance", id: "performance-" + model.model_id }, null, sec);
  h("h3", {}, "Performance over time", box);
  const perf = model.performance;
  if (!perf) {
    h("p", { class: "placeholder" },
      "No outcomes in this report. When windows carry `performance` (realised and estimated " +
      "metrics from joined outcomes), they are drawn here.", box);
    return;
  }
  const n = perf.length;
  const metrics = new Set();
  for (const p of perf) {
    if (!p) continue;
    for (const kind of ["realised", "estimated"]) for (const k of Object.keys(p[kind] || {})) metrics.add(k);
  }
  const grid = h("div", { class: "grid" }, null, box);
  for (const metric of metrics) {
    const card = h("article", { class: "card" }, null, grid);
    h("h4", {}, metric, card);
    const realised = perf.map((p) => (p && p.realised && typeof p.realised[metric] === "number" ? p.realised[metric] : null));
    const estimated = perf.map((p) => (p && p.estimated && typeof p.estimated[metric] === "number" ? p.estimated[metric] : null));
    const vals = realised.concat(estimated).filter((v) => v !== null);
    const lo = Math.min(0, ...vals);
    const hi = Math.max(...vals, lo + 1e-9);
    view.cards.push({
      cursors: [timeChart(card, n, {
        title: `${model.model_id}: ${metric} over time`,
        transform: (v) => v - lo,
        top: (hi - lo) * 1.05,
        ticks: [{ v: lo, label: fmt(lo) }, { v: hi, label: fmt(hi) }],
        series: [{ values: realised }, { values: estimated }],
        caption: "— realised  - - estimated",
      })],
      perf: true,
    });
  }
  const status = h("p", { class: "stats" }, null, box);
  view.perfStatus = (i) => {
    const p = perf[i];
    status.textContent = "";
    if (!p) {
      status.textContent = "this window: no performance";
      return;
    }
    if (p.tier !== undefined && TIERS.includes(p.tier)) tierBadge(TIERS.indexOf(p.tier), status);
    const findings = (p.findings || []).map((f) => (typeof f === "string" ? f : JSON.stringify(f)));
    status.appendChild(document.createTextNode(" this window: " + (findings.join("; ") || "no finding")));
  };
}

function selectWindow(view, i) {
  view.selected = i;
  drawStrip(view);
  const m = view.model;
  const w = m.windows;
  const prose = m.prose[String(i)];
  const p = view.picked;
  p.textContent = "";
  const head = h("p", { class: "picked-head" }, null, p);
  h("strong", {}, `Window ${i + 1} of ${w.tier.length}: ${hhmm(w.start[i])} to ${hhmm(w.end[i])} UTC, ` +
    `${w.events[i].toLocaleString()} events${w.evaluated[i] ? "" : " (not evaluated)"} `, head);
  tierBadge(w.tier[i], head);
  if (prose) {
    h("p", {}, prose[0], p);
    h("p", {}, prose[1], p);
    const ul = h("ul", {}, null, p);
    for (const step of prose[2]) h("li", {}, step, ul);
  } else {
    h("p", {}, "No column drifting in this window.", p);
  }
  for (const card of view.cards) {
    if (card.perf) card.cursors[0](i);
    else updateCard(card, i);
  }
  if (view.perfStatus) view.perfStatus(i);
}

async function loadData() {
  const text = document.getElementById("report-data").textContent.trim();
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let k = 0; k < raw.length; k++) bytes[k] = raw.charCodeAt(k);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return JSON.parse(await new Response(stream).text());
}

async function main() {
  const app = document.getElementById("app");
  if (typeof DecompressionStream === "undefined") {
    app.textContent = "This browser cannot read the page's data (no DecompressionStream): " +
      "open it in a current Chrome, Firefox or Safari.";
    return;
  }
  const data = await loadData();
  app.textContent = "";
  const views = [];
  countsSection(data, app);
  for (const model of data.models) {
    const view = modelSection(model, app, data.alerts, data.counts);
    if (view) views.push(view);
  }
  digestList(data.alerts, app);
  let resizing = 0;
  window.addEventListener("resize", () => {
    cancelAnimationFrame(resizing);
    resizing = requestAnimationFrame(() => views.forEach(drawStrip));
  });
  window.driftwardenViews = views;
  document.body.dataset.ready = String(performance.now());
}

main().catch((err) => {
  document.getElementById("app").textContent = "The page could not be drawn: " + err;
  throw err;
});

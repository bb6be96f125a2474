// The trackside page: last exchange, recent list, sensor status, signal plot.
// Plain ES module, no libraries: everything the page needs is served locally.
// Data contract: docs/api.md (times on the host clock in s, *_utc as ISO-8601,
// durations in ms, |a| in m/s², |ω| in rad/s).

const SENSOR_POLL_MS = 2000;
const HEALTH_POLL_MS = 2000;   // the problems banner follows /api/health this closely
const RECENT_LIMIT = 50;      // rows in the recent list (and the first fetch)
const KEEP_EXCHANGES = 500;   // exchanges kept in memory
const SPEAK_KEY = "batonsense.speak";
const SILENT_ALARM_S = 2;      // a sensor without data this long is not ON (as /api/health)
const SIGNALS_BEFORE_S = 1.5;  // plot window before the first event of an exchange
const SIGNALS_AFTER_S = 1.0;   // and after its last
const SIGNALS_RETRIES = 4;     // a connected sensor quiet this long shows NO DATA

const state = {
  exchanges: new Map(),       // id -> exchange object
  selectedId: null,           // exchange whose signals are plotted
  follow: true,               // plot follows the newest exchange
  signals: new Map(),         // id -> signals document
  plotted: null,              // {ex, sig} last drawn, for redraw on resize
  sessionId: null,
  serverOffsetMs: 0,          // service UTC − this device's clock
  healthPolls: 0,
};

const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------------ helpers

/** Element builder: el("td", {class: "num"}, "12"). Text only, never HTML. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  }
  if (text !== null) node.textContent = text;
  return node;
}

async function getJSON(path) {
  const res = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

function name(n) {
  return n === null || n === undefined || n === "" ? "?" : String(n);
}

function pairText(ex) {
  return `${name(ex.giver)} → ${name(ex.receiver)}`;
}

/** Milliseconds as a whole number, or an em dash when unknown. */
function ms(v) {
  return typeof v === "number" && Number.isFinite(v) ? String(Math.round(v)) : "—";
}

function exUtc(ex) {
  return ex.grab_utc || ex.release_utc || ex.drop_utc || ex.reach_utc || ex.created_at || null;
}

function timeOfDay(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "—";
  return d.toLocaleTimeString([], {
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });
}

function agoText(iso) {
  if (!iso) return "";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const s = Math.max(0, Math.round((Date.now() + state.serverOffsetMs - t) / 1000));
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  return `${Math.floor(m / 60)} h ${m % 60} min ago`;
}

const isDropped = (ex) => ex.outcome === "dropped";

function sortedIds() {
  return [...state.exchanges.keys()].sort((a, b) => a - b);
}

function newest() {
  const ids = sortedIds();
  return ids.length ? state.exchanges.get(ids[ids.length - 1]) : null;
}

// --------------------------------------------------------------- exchanges

/** Add exchanges (any order, duplicates ignored); returns the ids that were new. */
function addExchanges(list) {
  const added = [];
  for (const ex of list) {
    if (!ex || typeof ex.id !== "number") continue;
    if (!state.exchanges.has(ex.id)) added.push(ex.id);
    state.exchanges.set(ex.id, ex);
  }
  const ids = sortedIds();
  for (const id of ids.slice(0, Math.max(0, ids.length - KEEP_EXCHANGES))) {
    state.exchanges.delete(id);
    state.signals.delete(id);
  }
  return added;
}

function onExchangesChanged() {
  const last = newest();
  renderLast(last);
  if (last && (state.follow || !state.exchanges.has(state.selectedId))) {
    select(last.id, { follow: true });
  }
  renderRecent();
}

function renderLast(ex) {
  $("last-waiting").hidden = !!ex;
  $("last-body").hidden = !ex;
  const panel = $("last");
  if (!ex) return;
  panel.classList.toggle("dropped", isDropped(ex));
  panel.dataset.exchangeId = ex.id;
  $("last-time").textContent = timeOfDay(exUtc(ex));
  $("last-ago").textContent = agoText(exUtc(ex));
  $("last-pair").textContent = pairText(ex);
  const outcome = $("last-outcome");
  outcome.textContent = isDropped(ex) ? "DROPPED BATON" : "completed";
  outcome.className = isDropped(ex) ? "outcome outcome-dropped" : "outcome outcome-ok";
  const mm = $("last-mismatch");
  mm.hidden = ex.hand_mismatch !== true;
  mm.textContent = ex.hand_mismatch
    ? `⚠ SAME HAND: ${ex.giver_hand} → ${ex.receiver_hand}`
    : "";
  for (const [id, v] of [["last-overlap", ex.overlap_ms], ["last-reach", ex.reach_ms]]) {
    const node = $(id);
    node.textContent = ms(v);
    node.nextElementSibling.hidden = node.textContent === "—";  // no "— ms"
  }
  const extra = [`#${ex.id}`];
  if (ex.giver_hand || ex.receiver_hand) {
    extra.push(`hands ${ex.giver_hand || "?"} → ${ex.receiver_hand || "?"}`);
  }
  if ((ex.hands_without_sensor || []).length) extra.push(untimedText(ex));
  if (ex.technique) extra.push(ex.technique);
  if (typeof ex.confidence === "number") extra.push(`confidence ${ex.confidence.toFixed(2)}`);
  $("last-extra").textContent = extra.join(" · ");
  document.title = `${pairText(ex)} ${isDropped(ex) ? "DROPPED" : `${ms(ex.overlap_ms)} ms`}`
    + " · batonsense";
}

function renderRecent() {
  const ids = sortedIds().reverse().slice(0, RECENT_LIMIT);
  const rows = ids.map((id) => {
    const ex = state.exchanges.get(id);
    const selected = id === state.selectedId;
    const choose = () => select(id, { follow: id === newest()?.id });
    return el("tr", {
      class: [selected ? "selected" : "", isDropped(ex) ? "row-dropped" : ""].join(" ").trim(),
      "data-exchange-id": id,
      tabindex: 0,
      "aria-selected": selected ? "true" : "false",
      onclick: choose,
      onkeydown: (e) => {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); choose(); }
      },
    },
    el("td", { class: "time" }, timeOfDay(exUtc(ex))),
    el("td", { class: "pair-cell" }, pairText(ex),
      ex.hand_mismatch ? el("span", { class: "warn-mark", title: "same-hand pass" }, "\u00a0⚠") : null,
      (ex.hands_without_sensor || []).length
        ? el("span", { class: "warn-mark", title: untimedText(ex) }, "\u00a0∅") : null,
      // Phones hide the result column and show drops here instead.
      isDropped(ex) ? el("span", { class: "drop-tag" }, "DROPPED") : null),
    el("td", { class: "num" }, ms(ex.overlap_ms)),
    el("td", { class: "num" }, ms(ex.reach_ms)),
    el("td", { class: isDropped(ex) ? "out out-dropped" : "out" },
      isDropped(ex) ? "DROPPED" : "ok"));
  });
  $("recent").replaceChildren(...rows);
  $("recent-empty").hidden = rows.length > 0;
}

function select(id, { follow }) {
  const changed = id !== state.selectedId;
  state.selectedId = id;
  state.follow = follow;
  $("follow").hidden = follow;
  for (const tr of $("recent").children) {
    const on = Number(tr.dataset.exchangeId) === id;
    tr.classList.toggle("selected", on);
    tr.setAttribute("aria-selected", on ? "true" : "false");
  }
  if (changed) loadSignals(id);
}

// ------------------------------------------------------------------ signals

async function loadSignals(id, attempt = 0) {
  const ex = state.exchanges.get(id);
  if (!ex) return;
  $("plot-title").textContent = `${pairText(ex)} · ${timeOfDay(exUtc(ex))}`;
  let sig = state.signals.get(id);
  if (!sig) {
    if (attempt === 0) plotMessage("Loading signals…");
    try {
      sig = await getJSON(
        `/api/exchanges/${id}/signals?before_s=${SIGNALS_BEFORE_S}&after_s=${SIGNALS_AFTER_S}`);
    } catch (err) {
      sig = null;
    }
    // A brand-new exchange is announced before all the samples after it are stored:
    // draw what there is and ask again, keeping only a complete window.
    const complete = sig !== null && signalsComplete(sig);
    if (complete) state.signals.set(id, sig);
    else if (attempt < SIGNALS_RETRIES && id === state.selectedId) {
      setTimeout(() => { if (id === state.selectedId) loadSignals(id, attempt + 1); }, 1500);
    }
    if (sig === null) {
      if (attempt >= SIGNALS_RETRIES && id === state.selectedId) {
        plotMessage("Signals not available for this exchange.");
      }
      return;
    }
  }
  if (id !== state.selectedId) return;
  state.plotted = { ex, sig };
  drawPlot(ex, sig);
}

/** Do the series reach SIGNALS_AFTER_S past the last event (within 0.1 s)? */
function signalsComplete(sig) {
  const events = Object.values(sig.marks || {}).filter((t) => typeof t === "number");
  if (!events.length) return true;
  const want = Math.max(...events) + SIGNALS_AFTER_S - 0.1;
  let last = -Infinity;
  for (const srs of sig.series || []) {
    const ts = srs.t_s || [];
    if (ts.length) last = Math.max(last, ts[ts.length - 1]);
  }
  return last >= want;
}

function plotMessage(text) {
  state.plotted = null;
  $("legend").replaceChildren();
  $("plot").replaceChildren(el("p", { class: "plot-empty" }, text));
}

const SERIES_STYLE = {
  baton: { color: "#000000", width: 3, dash: null },
  giver: { color: "#0047b3", width: 2.5, dash: null },
  receiver: { color: "#c24a00", width: 2.5, dash: "9 5" },
  other: { color: "#5b2a86", width: 2, dash: "3 4" },
};

const MARKS = [
  { key: "reach_s", name: "reach", color: "#000000", dash: "6 4" },
  { key: "grab_s", name: "grab", color: "#00701a", dash: null },
  { key: "release_s", name: "release", color: "#6a1b9a", dash: null },
  { key: "drop_s", name: "drop", color: "#c00000", dash: null },
];

function seriesKind(s, ex) {
  if (s.role === "baton") return "baton";
  if (s.athlete && s.athlete === ex.giver) return "giver";
  if (s.athlete && s.athlete === ex.receiver) return "receiver";
  return "other";
}

function seriesLabel(s, kind) {
  if (kind === "baton") return "baton";
  const who = name(s.athlete);
  const role = kind === "giver" ? " (giver)" : kind === "receiver" ? " (receiver)" : "";
  return `${who}${role}${s.hand ? ` · ${s.hand} wrist` : " · wrist"}`;
}

/** Round `v` up to 1, 2 or 5 × 10^k. */
function niceCeil(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function niceStep(span, approxTicks) {
  const raw = span / Math.max(1, approxTicks);
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function drawPlot(ex, sig) {
  const box = $("plot");
  const width = Math.max(280, Math.round(box.clientWidth || 600));
  const narrow = width < 560;
  const m = { left: narrow ? 44 : 56, right: 14, top: 50, bottom: 40 };
  const panelH = narrow ? 130 : 170;
  const gap = 22;
  const height = m.top + 2 * panelH + gap + m.bottom;
  const x0 = m.left, x1 = width - m.right;

  const series = (sig.series || []).map((s) => ({ ...s, kind: seriesKind(s, ex) }));
  const order = { baton: 0, giver: 1, receiver: 2, other: 3 };
  series.sort((a, b) => order[a.kind] - order[b.kind]);
  const marks = sig.marks || {};

  let tMin = Infinity, tMax = -Infinity;
  for (const s of series) {
    for (const t of s.t_s || []) { if (t < tMin) tMin = t; if (t > tMax) tMax = t; }
  }
  for (const mk of MARKS) {
    const t = marks[mk.key];
    if (typeof t === "number") { tMin = Math.min(tMin, t); tMax = Math.max(tMax, t); }
  }
  if (!Number.isFinite(tMin) || tMax <= tMin) {
    plotMessage("No signal samples around this exchange.");
    return;
  }
  const refKey = ["grab_s", "release_s", "drop_s", "reach_s"]
    .find((k) => typeof marks[k] === "number");
  const tRef = refKey ? marks[refKey] : tMin;
  const refName = refKey ? `s from ${refKey.slice(0, -2)}` : "s";
  const xOf = (t) => x0 + ((t - tMin) / (tMax - tMin)) * (x1 - x0);

  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
    "aria-label": `Signals around exchange ${ex.id}`, "data-exchange-id": ex.id,
    class: "plot-svg",
  });

  const panels = [
    { key: "acc_mps2", label: "|a| m/s²", top: m.top },
    { key: "gyro_rads", label: "|ω| rad/s", top: m.top + panelH + gap },
  ];

  // Overlap band (both runners hold the baton) behind everything else.
  if (typeof marks.grab_s === "number" && typeof marks.release_s === "number") {
    const a = xOf(Math.min(marks.grab_s, marks.release_s));
    const b = xOf(Math.max(marks.grab_s, marks.release_s));
    root.append(svg("rect", {
      x: a, y: m.top, width: Math.max(1, b - a), height: 2 * panelH + gap,
      class: "overlap-band", fill: "#c8f0c8",
    }));
  }

  for (const p of panels) drawPanel(root, p, series, { x0, x1, panelH, xOf, narrow });
  drawTimeAxis(root, { tMin, tMax, tRef, refName, xOf, y: m.top + 2 * panelH + gap, narrow });
  drawMarks(root, marks, { xOf, yTop: m.top, yBottom: m.top + 2 * panelH + gap, x0, x1 });

  box.replaceChildren(root);
  box.dataset.exchangeId = ex.id;
  box.dataset.marks = MARKS.filter((mk) => typeof marks[mk.key] === "number")
    .map((mk) => mk.name).join(" ");
  renderLegend(series);
}

function drawPanel(root, p, series, { x0, x1, panelH, xOf, narrow }) {
  let vMax = 0;
  for (const s of series) for (const v of s[p.key] || []) if (v > vMax) vMax = v;
  const yMax = niceCeil(vMax * 1.05);
  const yOf = (v) => p.top + panelH - (v / yMax) * panelH;
  const g = svg("g", { class: `panel-${p.key}` });
  g.append(svg("rect", {
    x: x0, y: p.top, width: x1 - x0, height: panelH, fill: "none", stroke: "#000",
    "stroke-width": 1.5,
  }));
  for (const v of [yMax / 2, yMax]) {
    const y = yOf(v);
    g.append(svg("line", { x1: x0, x2: x1, y1: y, y2: y, stroke: "#777", "stroke-width": 1,
      "stroke-dasharray": "2 4" }));
  }
  for (const v of [0, yMax / 2, yMax]) {
    g.append(svg("text", { x: x0 - 6, y: yOf(v) + 5, "text-anchor": "end", class: "tick" },
      formatTick(v)));
  }
  g.append(svg("text", { x: x0 + 8, y: p.top + 20, class: "axis-label" }, p.label));
  const clipId = `clip-${p.key}`;
  const clip = svg("clipPath", { id: clipId });
  clip.append(svg("rect", { x: x0, y: p.top, width: x1 - x0, height: panelH }));
  g.append(clip);
  for (const s of series) {
    const ts = s.t_s || [], vs = s[p.key] || [];
    const n = Math.min(ts.length, vs.length);
    if (n < 2) continue;
    const pts = [];
    for (let i = 0; i < n; i++) {
      if (typeof vs[i] !== "number" || typeof ts[i] !== "number") continue;
      pts.push(`${xOf(ts[i]).toFixed(1)},${yOf(vs[i]).toFixed(1)}`);
    }
    const st = SERIES_STYLE[s.kind];
    g.append(svg("polyline", {
      points: pts.join(" "), fill: "none", stroke: st.color,
      "stroke-width": narrow ? st.width * 0.8 : st.width, "stroke-dasharray": st.dash,
      "stroke-linejoin": "round", "clip-path": `url(#${clipId})`,
      class: `series series-${s.kind}`, "data-sensor": s.sensor,
    }));
  }
  root.append(g);
}

function formatTick(v) {
  if (v === 0) return "0";
  return v >= 10 ? String(Math.round(v)) : String(Number(v.toPrecision(2)));
}

function drawTimeAxis(root, { tMin, tMax, tRef, refName, xOf, y, narrow }) {
  const step = niceStep(tMax - tMin, narrow ? 4 : 8);
  const first = Math.ceil((tMin - tRef) / step) * step;
  for (let r = first; tRef + r <= tMax + 1e-9; r += step) {
    const x = xOf(tRef + r);
    const rr = Math.abs(r) < step / 1000 ? 0 : r;
    root.append(svg("line", { x1: x, x2: x, y1: y, y2: y + 6, stroke: "#000", "stroke-width": 1.5 }));
    const label = rr === 0 ? "0" : `${rr > 0 ? "+" : "−"}${Number(Math.abs(rr).toFixed(3))}`;
    root.append(svg("text", { x, y: y + 22, "text-anchor": "middle", class: "tick" }, label));
  }
  root.append(svg("text", { x: xOf(tMax), y: y + 38, "text-anchor": "end", class: "axis-note" },
    refName));
}

/** Vertical lines with labels; labels of close marks go on separate rows. */
function drawMarks(root, marks, { xOf, yTop, yBottom, x0, x1 }) {
  const rows = [[], []];  // occupied [left, right] pixel spans per label row
  const charW = 9.5;
  for (const mk of MARKS) {
    const t = marks[mk.key];
    if (typeof t !== "number") continue;
    const x = xOf(t);
    // reach and grab read to the left of their line, release and drop to the right,
    // so grab and release (often a few pixels apart) never cover each other.
    const left = mk.name === "reach" || mk.name === "grab";
    const w = mk.name.length * charW + 6;
    let a = left ? x - 4 - w : x + 4;
    a = Math.min(Math.max(a, x0 - 40), x1 - w);
    const span = [a, a + w];
    let row = rows.findIndex((r) => r.every(([l, h]) => span[1] < l - 4 || span[0] > h + 4));
    if (row < 0) row = rows.length - 1;
    rows[row].push(span);
    const yText = yTop - 8 - row * 20;
    const g = svg("g", { class: `mark mark-${mk.name}`, "data-mark": mk.name,
      "data-t-s": t });
    g.append(svg("line", {
      x1: x, x2: x, y1: yText + 4, y2: yBottom, stroke: mk.color, "stroke-width": 2.5,
      "stroke-dasharray": mk.dash, class: `mark-line mark-${mk.name}`,
    }));
    g.append(svg("text", { x: span[0] + 3, y: yText, fill: mk.color, class: "mark-label" },
      mk.name));
    root.append(g);
  }
}

function renderLegend(series) {
  const seen = new Set();
  const items = [];
  for (const s of series) {
    const label = seriesLabel(s, s.kind);
    if (seen.has(label)) continue;
    seen.add(label);
    const st = SERIES_STYLE[s.kind];
    const sw = svg("svg", { width: 34, height: 14, viewBox: "0 0 34 14", "aria-hidden": "true" });
    sw.append(svg("line", { x1: 1, x2: 33, y1: 7, y2: 7, stroke: st.color,
      "stroke-width": st.width + 0.5, "stroke-dasharray": st.dash }));
    items.push(el("li", {}, sw, ` ${label}`));
  }
  $("legend").replaceChildren(...items);
}

// ------------------------------------------------------------------ sensors

async function pollSensors() {
  try {
    const sensors = await getJSON("/api/sensors");
    renderSensors(Array.isArray(sensors) ? sensors : []);
    $("sensors-stale").hidden = true;
    servicePolled(true);
  } catch {
    $("sensors-stale").hidden = false;
    for (const li of $("sensors").children) li.classList.add("stale");
    servicePolled(false);
  } finally {
    setTimeout(pollSensors, SENSOR_POLL_MS);
  }
}

/** `v` with `digits` decimals and its unit, or an em dash alone when unknown. */
function num(v, unit, digits = 0) {
  return typeof v === "number" && Number.isFinite(v) ? `${v.toFixed(digits)} ${unit}` : "—";
}

function renderSensors(sensors) {
  const items = sensors.map((s) => {
    const on = s.connected === true;
    const who = s.role === "baton" ? "baton"
      : `${name(s.athlete)}${s.hand ? ` · ${s.hand}` : ""} wrist`;
    const lowBattery = typeof s.battery_pct === "number" && s.battery_pct < 20;
    const lossy = typeof s.lost_pct === "number" && s.lost_pct >= 5;
    const silent = on && typeof s.last_seen_ago_s === "number" && s.last_seen_ago_s > 2;
    // Connected but quiet for long (or only old data coming, catching up after a
    // stall: the service says "no data for N s"): as useless as disconnected.
    const behind = on && /^no data/.test(s.state || "");
    const mute = (silent && s.last_seen_ago_s > SILENT_ALARM_S) || behind;
    const badge = !on ? ["state-off", "OFF"] : mute ? ["state-mute", "NO DATA"] : ["state-on", "ON"];
    return el("li", {
      class: `sensor ${on ? "on" : "off"}${mute ? " mute" : ""}`, "data-sensor-id": s.id,
      "data-connected": on ? "true" : "false",
    },
    el("span", { class: `state ${badge[0]}` }, badge[1]),
    el("span", { class: "who" }, who, el("span", { class: "sid" }, ` ${s.name || s.id}`)),
    el("span", { class: "stats" },
      el("span", { class: lowBattery ? "stat bad" : "stat" }, `battery ${num(s.battery_pct, "%")}`),
      el("span", { class: "stat" }, `rate ${num(s.rate_hz, "Hz")}`),
      el("span", { class: lossy ? "stat bad" : "stat" }, `loss ${num(s.lost_pct, "%", 1)}`),
      silent ? el("span", { class: "stat bad" }, `silent ${num(s.last_seen_ago_s, "s")}`) : null,
      // samples the sensor itself could not send (its OVERFLOW flag): shown once there are any
      s.overflow_samples > 0
        ? el("span", { class: "stat bad" }, `overflow ${s.overflow_samples} samples`) : null,
      // off: why; on: a configuration change waiting for the next session
      (!on || behind || /next session/.test(s.state || "")) && s.state
        ? el("span", { class: "stat" }, s.state) : null));
  });
  $("sensors").replaceChildren(...items);
}

// ------------------------------------------------------------ health, session

async function pollHealth() {
  try {
    const h = await getJSON("/api/health");
    const utc = Date.parse(h.utc);
    if (!Number.isNaN(utc)) state.serverOffsetMs = utc - Date.now();
    showProblems(h);
    if (h.session_id !== state.sessionId || ++state.healthPolls % 3 === 0) {
      await showSession(h.session_id ?? null);
    }
  } catch {
    // The connection indicator (EventSource) already says the service is away.
  } finally {
    setTimeout(pollHealth, HEALTH_POLL_MS);
  }
}

/** The red banner: what /api/health says is wrong now (storage, ingest lag, sensors). */
function showProblems(h) {
  const problems = Array.isArray(h.problems) ? h.problems : [];
  const banner = $("problems");
  banner.hidden = problems.length === 0;
  banner.replaceChildren(...problems.map((p) => el("p", { class: "problem" }, p)));
}

async function showSession(id) {
  state.sessionId = id;
  const label = $("session-name");
  if (id === null) {
    label.textContent = "no session (not recording)";
    $("exports").hidden = true;
    return;
  }
  let session = null;
  try {
    const sessions = await getJSON("/api/sessions");
    session = (Array.isArray(sessions) ? sessions : []).find((s) => s.id === id) || null;
  } catch { /* keep the id only */ }
  const n = session?.exchange_count;
  label.replaceChildren(
    session?.name ? `session: ${session.name}` : `session #${id}`,
    typeof n === "number"
      ? el("span", { class: "nowrap" }, ` · ${n} exchange${n === 1 ? "" : "s"}`) : null,
  );
  $("export-csv").href = `/api/sessions/${id}/export?format=csv`;
  $("export-json").href = `/api/sessions/${id}/export?format=json`;
  $("exports").hidden = false;
}

// --------------------------------------------------------------- live feed

// The stream's own state is not enough: a dead service can hold an SSE connection
// open for seconds (graceful shutdown) and a lost network for much longer, so the
// sensor poll (every 2 s) also counts: two failures in a row mean "reconnecting",
// and the first success after that opens a fresh stream and refetches the list.
const live = { es: null, open: false, everOpen: false, pollFailures: 0 };
const POLL_FAILURES_DOWN = 2;

function setConn(kind, text) {
  const c = $("conn");
  c.className = `conn conn-${kind}`;
  c.dataset.state = kind;
  c.textContent = text;
}

function showConn() {
  if (live.pollFailures >= POLL_FAILURES_DOWN) setConn("reconnecting", "RECONNECTING…");
  else if (live.open) setConn("live", "● LIVE");
  else if (live.es && live.es.readyState === EventSource.CLOSED) setConn("offline", "OFFLINE");
  else if (!live.everOpen) setConn("connecting", "connecting…");
  else setConn("reconnecting", "RECONNECTING…");
}

/** Called by the sensor poll with its outcome. */
function servicePolled(ok) {
  const wasDown = live.pollFailures >= POLL_FAILURES_DOWN;
  live.pollFailures = ok ? 0 : live.pollFailures + 1;
  if (ok && wasDown) {
    connectStream();
    loadRecent().catch(() => {});
  }
  showConn();
}

async function loadRecent() {
  const list = await getJSON(`/api/exchanges?limit=${RECENT_LIMIT}`);
  addExchanges(Array.isArray(list) ? list : []);
  onExchangesChanged();
}

function connectStream() {
  if (live.es) live.es.close();
  const es = new EventSource("/api/exchanges/stream");
  live.es = es;
  live.open = false;
  let hadError = false;
  es.addEventListener("open", () => {
    if (live.es !== es) return;
    live.open = true;
    live.everOpen = true;
    showConn();
    // After a gap, fill in anything the stream did not replay.
    if (hadError) loadRecent().catch(() => {});
    hadError = false;
  });
  es.addEventListener("exchange", (e) => {
    if (live.es !== es) return;
    let ex;
    try { ex = JSON.parse(e.data); } catch { return; }
    const before = newest();
    const added = addExchanges([ex]);
    onExchangesChanged();
    if (added.length && (!before || ex.id > before.id)) speak(ex);
  });
  es.addEventListener("error", () => {
    if (live.es !== es) return;
    hadError = true;
    live.open = false;
    showConn();
    if (es.readyState === EventSource.CLOSED) {
      // The browser gave up (e.g. an HTTP error): try again ourselves.
      setTimeout(() => { if (live.es === es) connectStream(); }, 3000);
    }
  });
  showConn();
}

// ------------------------------------------------------------------- speech

const speechOk = "speechSynthesis" in window && "SpeechSynthesisUtterance" in window;

/** "no sensor on the giver's hand: release not timed" (and/or the receiver's grab). */
function untimedText(ex) {
  return (ex.hands_without_sensor || [])
    .map((role) => `no sensor on the ${role}'s hand: ${role === "giver" ? "release" : "grab"} not timed`)
    .join("; ");
}

function sayText(ex) {
  const parts = [`${name(ex.giver)} to ${name(ex.receiver)}`];
  if (isDropped(ex)) {
    parts.push("dropped baton");
  } else {
    if (typeof ex.overlap_ms === "number") {
      parts.push(`overlap ${Math.round(ex.overlap_ms)} milliseconds`);
    }
    if (typeof ex.reach_ms === "number") parts.push(`reach ${Math.round(ex.reach_ms)}`);
  }
  if (ex.hand_mismatch) parts.push("same hand pass");
  for (const role of ex.hands_without_sensor || []) parts.push(`no sensor on the ${role}'s hand`);
  return parts.join(", ");
}

function say(text) {
  if (!speechOk) return;
  window.speechSynthesis.cancel();  // the newest exchange matters, not a queue
  window.speechSynthesis.speak(new SpeechSynthesisUtterance(text));
}

function speak(ex) {
  if ($("speak").checked) say(sayText(ex));
}

function setupSpeech() {
  const box = $("speak");
  if (!speechOk) {
    box.disabled = true;
    box.parentElement.title = "This browser cannot read aloud";
    return;
  }
  try { box.checked = localStorage.getItem(SPEAK_KEY) === "1"; } catch { /* private mode */ }
  box.addEventListener("change", () => {
    try { localStorage.setItem(SPEAK_KEY, box.checked ? "1" : "0"); } catch { /* ignore */ }
    // Speaking once from the click also unlocks speech on browsers that need a gesture.
    if (box.checked) say("read aloud on");
  });
}

// --------------------------------------------------------------------- start

function start() {
  setupSpeech();
  $("follow").addEventListener("click", () => {
    const last = newest();
    if (last) select(last.id, { follow: true });
  });
  let pending = false;
  new ResizeObserver(() => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      if (state.plotted) drawPlot(state.plotted.ex, state.plotted.sig);
    });
  }).observe($("plot"));
  setInterval(() => {
    const last = newest();
    if (last) $("last-ago").textContent = agoText(exUtc(last));
  }, 1000);
  connectStream();
  loadRecent().catch(() => setTimeout(() => loadRecent().catch(() => {}), 3000));
  pollSensors();
  pollHealth();
}

start();

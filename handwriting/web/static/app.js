// The handwriting page: writes through the JSON API (see the README) and draws in writing order.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
// As render.py: points drawn per second at speed 1, and time in the air between strokes.
const POINTS_PER_SECOND = 120;
const PEN_UP_SECONDS = 0.08;

const $ = (id) => document.getElementById(id);
let selectedStyle = null;
let lastResult = null;
let animation = null;

async function api(path, body, method) {
  const options = body === undefined ? {method: method || "GET"} : {
    method: method || "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

function showError(element, message) {
  element.textContent = message || "";
  element.hidden = !message;
}

// ------------------------------------------------------------------ styles

async function loadStyles(select) {
  const data = await (await api("/api/styles")).json();
  const box = $("styles");
  box.replaceChildren();
  const entries = [{name: "none", text: "unprimed: the model's own hand", kind: "special", preview: ""}]
    .concat(data.styles);
  for (const style of entries) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "style";
    button.dataset.name = style.name;
    button.dataset.kind = style.kind;
    button.setAttribute("role", "radio");
    button.title = style.text;
    const label = document.createElement("div");
    label.className = "name";
    label.textContent = style.name;
    if (style.kind === "yours") {
      const small = document.createElement("small");
      small.textContent = " yours";
      label.append(small);
    }
    const preview = document.createElement("div");
    preview.className = "preview";
    preview.innerHTML = style.preview;  // SVG made by the server from the style's strokes
    button.append(label, preview);
    button.addEventListener("click", () => selectStyle(style.name));
    box.append(button);
  }
  const names = new Set(entries.map((style) => style.name));
  const wanted = select || selectedStyle;
  selectStyle(names.has(wanted) ? wanted : data.default || (data.styles[0] || {}).name || "none");
}

function selectStyle(name) {
  selectedStyle = name;
  let yours = false;
  for (const button of document.querySelectorAll("#styles .style")) {
    const on = button.dataset.name === name;
    button.classList.toggle("selected", on);
    button.setAttribute("aria-checked", on ? "true" : "false");
    yours = yours || (on && button.dataset.kind === "yours");
  }
  $("remove-style").hidden = !yours;
}

async function removeStyle() {
  const name = selectedStyle;
  if (!window.confirm(`Remove your style "${name}"? Its sample and what the network learnt of it are deleted.`)) return;
  showError($("error"), "");
  try {
    await api(`/api/styles/${encodeURIComponent(name)}`, undefined, "DELETE");
    selectedStyle = null;
    await loadStyles();
  } catch (error) {
    showError($("error"), error.message);
  }
}

// ------------------------------------------------------------------ writing

function writeRequest() {
  const seed = $("seed").value.trim();
  const maxChars = $("max-chars").value.trim();
  const page = $("page").value;
  if (page) {  // a sheet of paper sets the line length and the alignment itself
    return {text: $("text").value, style: selectedStyle || "default", bias: Number($("bias").value),
            slant: ["style", "model"].includes($("slant").value) ? $("slant").value : Number($("slant").value),
            seed: seed === "" ? null : Number(seed), color: $("color").value, width: Number($("width").value),
            page, paper: $("paper").value};
  }
  return {
    text: $("text").value,
    style: selectedStyle || "default",
    bias: Number($("bias").value),
    slant: ["style", "model"].includes($("slant").value) ? $("slant").value : Number($("slant").value),
    seed: seed === "" ? null : Number(seed),
    color: $("color").value,
    width: Number($("width").value),
    align: $("align").value,
    max_line_chars: maxChars === "" ? null : Number(maxChars),
  };
}

async function write() {
  showError($("error"), "");
  $("write").disabled = true;
  $("status").textContent = "Writing...";
  const started = performance.now();
  try {
    const result = await (await api("/api/write", writeRequest())).json();
    lastResult = result;
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    const seed = result.seed === null ? "shared batch" : `seed ${result.seed}`;
    const capped = result.hit_cap.filter(Boolean).length;
    const pages = result.pages.length > 1 ? `; page 1 of ${result.pages.length} shown, the PDF has them all` : "";
    $("status").textContent = `Written in ${seconds} s (${seed})` +
      (capped ? `; ${capped} line(s) reached the step cap` : "") + pages;
    for (const button of document.querySelectorAll(".downloads button")) button.disabled = false;
    draw(result, Number($("speed").value));
  } catch (error) {
    showError($("error"), error.message);
    $("status").textContent = "";
  } finally {
    $("write").disabled = false;
  }
}

// Strokes of a written page in SVG coordinates (y down), with each line's colour and width.
function pageStrokes(result) {
  const strokes = [];
  result.lines.forEach((line, i) => {
    if (!line) return;
    let current = [];
    for (const [x, y, penUp] of line) {
      current.push([x, -y]);
      if (penUp >= 0.5) { strokes.push({points: current, color: result.colors[i], width: result.widths[i]}); current = []; }
    }
    if (current.length) strokes.push({points: current, color: result.colors[i], width: result.widths[i]});
  });
  return strokes;
}

function pathData(points, count) {
  const shown = points.slice(0, Math.max(count, 1));
  if (shown.length === 1) shown.push(shown[0]);  // a dot: a zero-length segment with round caps
  return "M" + shown.map(([x, y]) => `${x.toFixed(2)} ${y.toFixed(2)}`).join(" L");
}

// Draw the page stroke by stroke, in writing order, at `speed` times the CLI animation's pace.
function draw(result, speed) {
  if (animation) cancelAnimationFrame(animation);
  const svg = $("drawing");
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${result.page_width} ${result.page_height}`);
  svg.dataset.state = "drawing";
  const strokes = pageStrokes(result);
  let clock = 0;
  for (const stroke of strokes) {
    const path = document.createElementNS(SVG_NS, "path");
    for (const [k, v] of [["fill", "none"], ["stroke", stroke.color], ["stroke-width", stroke.width],
                          ["stroke-linecap", "round"], ["stroke-linejoin", "round"]]) path.setAttribute(k, v);
    stroke.path = path;
    stroke.start = clock;
    stroke.duration = stroke.points.length / (POINTS_PER_SECOND * speed);
    clock += stroke.duration + PEN_UP_SECONDS / speed;
  }
  const t0 = performance.now();
  let next = 0;
  const frame = (now) => {
    const elapsed = (now - t0) / 1000;
    for (let i = next; i < strokes.length && strokes[i].start <= elapsed; i++) {
      const s = strokes[i];
      if (!s.path.isConnected) svg.append(s.path);
      const done = elapsed >= s.start + s.duration;
      const count = done ? s.points.length : Math.ceil(s.points.length * (elapsed - s.start) / s.duration);
      s.path.setAttribute("d", pathData(s.points, count));
      if (done && i === next) next++;
    }
    if (next < strokes.length) { animation = requestAnimationFrame(frame); return; }
    animation = null;
    svg.dataset.state = "done";
  };
  animation = requestAnimationFrame(frame);
}

async function download(format) {
  if (!lastResult) return;
  showError($("error"), "");
  try {
    const body = {pages: lastResult.pages, color: lastResult.colors[0], width: lastResult.widths[0], format,
                  speed: Number($("speed").value)};
    const blob = await (await api("/api/render", body)).blob();
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = {png: "handwriting.png", svg: "handwriting.svg", pdf: "handwriting.pdf"}[format] ||
      "handwriting-animated.svg";
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  } catch (error) {
    showError($("error"), error.message);
  }
}

// ------------------------------------------------------------------ your own hand

const pad = {strokes: [], current: null};

function padPoint(event) {
  const canvas = $("pad");
  const rect = canvas.getBoundingClientRect();
  return [event.clientX - rect.left, event.clientY - rect.top, event.timeStamp / 1000];
}

function redrawPad() {
  const canvas = $("pad");
  const ctx = canvas.getContext("2d");
  const rect = canvas.getBoundingClientRect();
  const sx = canvas.width / (rect.width || canvas.width), sy = canvas.height / (rect.height || canvas.height);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.lineWidth = 2.5; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#1a237e";
  for (const stroke of pad.strokes.concat(pad.current ? [pad.current] : [])) {
    ctx.beginPath();
    stroke.forEach(([x, y], i) => (i ? ctx.lineTo(x * sx, y * sy) : ctx.moveTo(x * sx, y * sy)));
    if (stroke.length === 1) ctx.lineTo(stroke[0][0] * sx + 0.1, stroke[0][1] * sy);
    ctx.stroke();
  }
  $("pad").dataset.strokes = String(pad.strokes.length);
}

function setUpPad() {
  const canvas = $("pad");
  canvas.addEventListener("pointerdown", (event) => {
    canvas.setPointerCapture(event.pointerId);
    pad.current = [padPoint(event)];
    event.preventDefault();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!pad.current) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const e of (events.length ? events : [event])) pad.current.push(padPoint(e));
    redrawPad();
  });
  const end = (event) => {
    if (!pad.current) return;
    pad.current.push(padPoint(event));
    pad.strokes.push(pad.current);
    pad.current = null;
    redrawPad();
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  $("undo").addEventListener("click", () => { pad.strokes.pop(); redrawPad(); });
  $("clear").addEventListener("click", () => { pad.strokes = []; redrawPad(); });
  $("save-style").addEventListener("click", saveStyle);
}

async function saveStyle() {
  showError($("style-error"), "");
  $("style-status").textContent = "";
  const name = $("style-name").value.trim();
  if (!pad.strokes.length) { showError($("style-error"), "write the sentence in the box first"); return; }
  try {
    const response = await api("/api/styles", {name, text: $("sample-text").value, strokes: pad.strokes});
    const style = await response.json();
    await loadStyles(style.name);
    $("style-status").textContent = `Saved "${style.name}": it is selected above, and the command line ` +
      `can use it too (handwriting write "..." --style ${style.name}).`;
  } catch (error) {
    showError($("style-error"), error.message);
  }
}

// ------------------------------------------------------------------ learn my hand

const own = {lines: [], sentences: []};
// How often the page asks the server how far the learning has got.
const ADAPT_POLL_MS = 1000;
const MIN_ADAPT_LINES = 3;

function showSentence() {
  if (own.sentences.length) $("sample-text").value = own.sentences[own.lines.length % own.sentences.length];
}

function updateLineCount() {
  const n = own.lines.length;
  $("line-count").textContent = `${n} line${n === 1 ? "" : "s"}`;
  $("line-count").dataset.lines = String(n);
  $("learn").disabled = n < MIN_ADAPT_LINES;
}

function addLine() {
  showError($("adapt-error"), "");
  if (!pad.strokes.length) { showError($("adapt-error"), "write the sentence in the box first"); return; }
  own.lines.push({text: $("sample-text").value, strokes: pad.strokes});
  pad.strokes = [];
  redrawPad();
  updateLineCount();
  showSentence();
}

async function learn() {
  showError($("adapt-error"), "");
  const name = $("style-name").value.trim();
  try {
    await api("/api/adapt", {name, lines: own.lines, minutes: Number($("adapt-minutes").value),
                             strength: Number($("adapt-strength").value)});
    $("learn").disabled = true;
    pollAdapt();
  } catch (error) {
    showError($("adapt-error"), error.message);
  }
}

async function pollAdapt() {
  let state;
  try {
    state = await (await api("/api/adapt")).json();
  } catch (error) {
    showError($("adapt-error"), error.message);
    return;
  }
  const bar = $("adapt-progress");
  bar.hidden = state.state === "idle";
  bar.max = Math.max(state.steps, 1);
  bar.value = state.step;
  const refused = (state.refused || []).map((r) => `${r.line} ("${r.text}"): ${r.reason}`).join("; ");
  if (state.state === "running") {
    $("adapt-status").textContent = `Learning "${state.name}": step ${state.step} of ${state.steps}` +
      (refused ? `. Left out: ${refused}` : "");
    setTimeout(pollAdapt, ADAPT_POLL_MS);
  } else if (state.state === "done") {
    bar.value = bar.max;
    $("adapt-status").textContent = `Learnt "${state.name}": it is selected above` + (refused ? `. Left out: ${refused}` : "");
    own.lines = [];
    updateLineCount();
    await loadStyles(state.name);
  } else if (state.state === "failed") {
    $("adapt-status").textContent = "";
    showError($("adapt-error"), state.error);
    updateLineCount();
  }
}

async function setUpLearning() {
  $("add-line").addEventListener("click", addLine);
  $("learn").addEventListener("click", learn);
  const state = await (await api("/api/adapt")).json();
  own.sentences = state.sentences || [];
  showSentence();
  if (state.state === "running") pollAdapt();
}

// ------------------------------------------------------------------ start

async function loadInfo() {
  // The model's own default bias (its release chose it) starts the legibility slider.
  const info = await (await api("/api/info")).json();
  if (typeof info.default_bias === "number") {
    $("bias").value = info.default_bias;
    $("bias-value").textContent = $("bias").value;
  }
}

function setUp() {
  for (const [input, label] of [["bias", "bias-value"], ["width", "width-value"], ["speed", "speed-value"]]) {
    $(input).addEventListener("input", () => { $(label).textContent = $(input).value; });
  }
  $("write").addEventListener("click", write);
  $("remove-style").addEventListener("click", removeStyle);
  $("text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) write();
  });
  for (const button of document.querySelectorAll(".downloads button")) {
    button.addEventListener("click", () => download(button.dataset.format));
  }
  setUpPad();
  loadInfo().catch((error) => showError($("error"), `cannot read the model's settings: ${error.message}`));
  setUpLearning().catch((error) => showError($("adapt-error"), error.message));
  loadStyles().catch((error) => showError($("error"), `cannot list the styles: ${error.message}`));
}

document.addEventListener("DOMContentLoaded", setUp);

// The journey builder: a Drawflow canvas for the graph, a palette to drag steps from, a list
// of the steps and a side panel to set up the selected one, both usable by keyboard alone.
// Loaded as a file (the CSP forbids inline scripts); everything it needs (the draft, the
// options to choose from, its words, the URLs) comes from the JSON block the page names in
// data-config. The graph it saves is the one `automations/journeys/graph.py` reads:
//   {"nodes": [{"id", "type", "config", "x", "y"}], "edges": [{"from", "to", "branch"}]}
// Each step has one output per branch (next / yes, no / event, timeout / a split's keys).
// On the results page the same canvas is read only and shows the counts of each step.
(function () {
  "use strict";

  var root = document.querySelector("[data-journey-builder]");
  if (!root || typeof window.Drawflow !== "function") return;
  var config = JSON.parse(document.getElementById(root.getAttribute("data-config")).textContent);
  var T = config.text;
  var KINDS = config.kinds;
  var OPT = config.options;
  var RESULTS = config.mode === "results";
  var MIME = "application/x-growth-step";
  var csrf = root.getAttribute("data-csrf") || "";

  // --- Small helpers -------------------------------------------------------------------------

  function fmt(text, values) {
    return String(text)
      .replace(/%\((\w+)\)s/g, function (match, key) {
        return values && values[key] !== undefined ? String(values[key]) : match;
      })
      .replace(/%%/g, "%");
  }

  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") el.textContent = value;
      else if (key === "class") el.className = value;
      else if (key.slice(0, 2) === "on") el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : String(value));
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      el.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return el;
  }

  function pairs(list) {
    var map = {};
    (list || []).forEach(function (pair) { map[pair[0]] = pair[1]; });
    return map;
  }

  function byId(list) {
    var map = {};
    (list || []).forEach(function (item) { map[String(item.id)] = item; });
    return map;
  }

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function number(value, fallback) {
    return typeof value === "number" && isFinite(value) ? value : fallback;
  }

  // What a number field holds: a whole number, or the text as typed (the server names the
  // problem), or nothing.
  function numberValue(text) {
    var value = String(text).trim();
    if (value === "") return "";
    return /^-?\d+$/.test(value) ? parseInt(value, 10) : value;
  }

  var templates = byId(OPT.templates);
  var segments = byId(OPT.segments);
  var surveys = byId(OPT.surveys);
  var campaigns = byId(OPT.campaigns);
  var triggerLabels = pairs(OPT.triggers);
  var stageLabels = pairs(OPT.stages);
  var conditionLabels = pairs(OPT.condition_kinds);
  var dateLabels = pairs(OPT.date_properties);
  var channelLabels = pairs(OPT.channels);

  function nameOf(map, id) {
    if (id === undefined || id === null || id === "") return T.summary.none;
    var item = map[String(id)];
    return item ? item.name : fmt(T.summary.missing, { id: id });
  }

  // --- The model: nodes by id (in the order they were added) and edges -------------------------

  var nodes = new Map();
  var edges = [];
  var graphIn = isObject(config.graph) ? config.graph : {};
  (Array.isArray(graphIn.nodes) ? graphIn.nodes : []).forEach(function (node) {
    if (!isObject(node) || typeof node.id !== "string" || nodes.has(node.id)) return;
    nodes.set(node.id, {
      id: node.id,
      type: String(node.type),
      config: isObject(node.config) ? JSON.parse(JSON.stringify(node.config)) : {},
      x: Math.round(number(node.x, 40)),
      y: Math.round(number(node.y, 40)),
    });
  });
  (Array.isArray(graphIn.edges) ? graphIn.edges : []).forEach(function (edge) {
    if (!isObject(edge) || !edge.from || !edge.to) return;
    edges.push({ from: String(edge.from), to: String(edge.to), branch: String(edge.branch || "next") });
  });

  var state = {
    selected: null,
    problems: (config.journey && config.journey.problems) || [],
    version: config.journey.version,
    status: config.journey.status,
    live: config.journey.live,
    changes: 0,
    savedChanges: 0,
    checking: false,
    busy: false,
    conflict: false,
  };

  function kindOf(node) {
    return KINDS[node.type] || { label: node.type, group: "action", branches: ["next"], dynamic: false };
  }

  function branchesOf(node) {
    var kind = kindOf(node);
    if (kind.dynamic) {
      var list = Array.isArray(node.config.branches) ? node.config.branches : [];
      return list.map(function (branch, i) {
        return String((isObject(branch) && branch.key) || String.fromCharCode(97 + i));
      });
    }
    return kind.branches.slice();
  }

  function inputsOf(node) {
    return node.type === "trigger" || node.type === "goal" ? 0 : 1;
  }

  function branchLabel(node, branch) {
    if (kindOf(node).dynamic) return branch;
    if (branch === "next") return "";
    return T.branch[branch] || branch;
  }

  function duration(c) {
    var parts = [];
    if (c.days) parts.push(fmt(T.summary.d, { n: c.days }));
    if (c.hours) parts.push(fmt(T.summary.h, { n: c.hours }));
    if (c.minutes) parts.push(fmt(T.summary.min, { n: c.minutes }));
    return parts.join(" ");
  }

  function summarize(node) {
    var c = node.config || {};
    var none = T.summary.none;
    switch (node.type) {
      case "trigger": {
        var what = triggerLabels[c.kind];
        if (!what) return none;
        var detail = "";
        if (c.kind === "event") detail = c.event || none;
        else if (c.kind === "segment_entered" || c.kind === "segment_exited") detail = nameOf(segments, c.segment);
        else if (c.kind === "stage_changed") detail = stageLabels[c.stage] || none;
        else if (c.kind === "date_property") detail = (dateLabels[c.property] || none) + (c.days ? " + " + fmt(T.summary.d, { n: c.days }) : "");
        else if (c.kind === "survey_answered") detail = nameOf(surveys, c.survey);
        return what + (detail ? ": " + detail : "");
      }
      case "wait":
        return duration(c) || none;
      case "wait_until": {
        var days = Array.isArray(c.weekdays) && c.weekdays.length ? c.weekdays : [0, 1, 2, 3, 4, 5, 6];
        return (c.time || none) + " · " + days.map(function (d) { return OPT.weekdays[d] || d; }).join(", ");
      }
      case "wait_event":
        return (c.event || none) + " · " + fmt(T.summary.timeout, { n: c.hours || 24 });
      case "condition": {
        var kind = conditionLabels[c.kind];
        if (!kind) return none;
        var more = "";
        if (c.kind === "event") more = c.event || none;
        else if (c.kind === "segment") more = nameOf(segments, c.segment);
        else if (c.kind === "consent") more = channelLabels[c.channel] || none;
        else if (c.kind === "stage") more = (c.stages || []).map(function (s) { return stageLabels[s] || s; }).join(", ") || none;
        else if (c.kind === "property") more = (c.conditions || []).map(function (x) { return x.property; }).join(", ") || none;
        return kind + ": " + more;
      }
      case "split":
        return (Array.isArray(c.branches) ? c.branches : [])
          .map(function (b, i) { return branchesOf(node)[i] + " " + (b && b.percent !== undefined ? b.percent : "?") + " %"; })
          .join(" · ") || none;
      case "send_email":
      case "send_sms":
        return c.template ? nameOf(templates, c.template) : T.summary.no_template;
      case "send_survey":
        return nameOf(surveys, c.survey) + " · " + (c.template ? nameOf(templates, c.template) : T.summary.no_template);
      case "create_task":
        return c.title || none;
      case "update_property":
        if (!c.property) return none;
        return c.tag ? fmt(T.summary.tag, { name: c.property }) : fmt(T.summary.set, { name: c.property, value: c.value || "" });
      case "change_stage":
        return stageLabels[c.stage] || none;
      case "list_add":
      case "list_remove":
        return nameOf(segments, c.segment);
      case "webhook":
        return c.url || none;
      case "issue_code":
        return nameOf(campaigns, c.campaign);
      case "goal":
        return c.event || none;
      default:
        return "";
    }
  }

  function stepName(node) {
    var summary = summarize(node);
    return kindOf(node).label + " (" + node.id + ")" + (summary ? ": " + summary : "");
  }

  function problemsOf(id) {
    return state.problems.filter(function (p) { return p.node === id; }).map(function (p) { return p.message; });
  }

  function defaults(type) {
    switch (type) {
      case "trigger": return { kind: "event" };
      case "wait": return { days: 1, hours: 0, minutes: 0 };
      case "wait_until": return { time: "09:00", weekdays: [0, 1, 2, 3, 4] };
      case "wait_event": return { hours: 24 };
      case "split": return { branches: [{ key: "a", percent: 50 }, { key: "b", percent: 50 }] };
      case "send_email":
      case "send_sms": return { best_time: false };
      default: return {};
    }
  }

  function newId() {
    var top = 0;
    nodes.forEach(function (node) {
      var match = /^n(\d+)$/.exec(node.id);
      if (match) top = Math.max(top, parseInt(match[1], 10));
    });
    return "n" + (top + 1);
  }

  // --- The canvas --------------------------------------------------------------------------------

  var canvas = root.querySelector("[data-canvas]");
  var editor = new window.Drawflow(canvas);
  editor.curvature = 0.5;
  editor.zoom_min = 0.4;
  if (RESULTS) editor.editor_mode = "view";
  // Drawflow's own Delete handler removes the node last clicked even while typing in the side
  // panel; ours acts on the focused step only (and moves it with the arrow keys).
  editor.key = onCanvasKey;
  // Steps flow top to bottom (journeys.css puts inputs on top, outputs at the bottom):
  // curves leave downwards and arrive from above.
  editor.createCurvature = function (startX, startY, endX, endY, curvature) {
    var bend = Math.max(Math.abs(endY - startY) * curvature, 40);
    return " M " + startX + " " + startY + " C " + startX + " " + (startY + bend) + " " +
      endX + " " + (endY - bend) + " " + endX + " " + endY;
  };
  editor.start();
  canvas.classList.add("journey-canvas");

  var dfOf = new Map(); // our node id -> Drawflow's id
  var idOf = new Map(); // Drawflow's id -> our node id
  var muted = 0; // > 0 while we change the canvas ourselves: its events are ours, not the user's

  function quietly(change) {
    muted += 1;
    try {
      return change();
    } finally {
      muted -= 1;
    }
  }

  function nodeEl(id) {
    var df = dfOf.get(id);
    return df ? document.getElementById("node-" + df) : null;
  }

  function drawNode(node) {
    var kind = kindOf(node);
    var outputs = branchesOf(node);
    var classes = "kind-" + node.type.replace(/[^a-z0-9_-]/gi, "") + " group-" + kind.group;
    var df = String(quietly(function () {
      return editor.addNode(node.type, inputsOf(node), outputs.length, node.x, node.y, classes, {}, "");
    }));
    dfOf.set(node.id, df);
    idOf.set(df, node.id);
    var el = nodeEl(node.id);
    el.setAttribute("data-node", node.id);
    el.setAttribute("data-testid", "node");
    el.setAttribute("tabindex", "0");
    el.setAttribute("role", RESULTS ? "img" : "button");
    el.querySelectorAll(".outputs .output").forEach(function (output, i) {
      var label = branchLabel(node, outputs[i]);
      output.setAttribute("data-branch", outputs[i]);
      if (label) output.setAttribute("data-label", label);
    });
    renderNode(node);
  }

  function renderNode(node) {
    var el = nodeEl(node.id);
    if (!el) return;
    var content = el.querySelector(".drawflow_content_node");
    var summary = summarize(node);
    var problems = problemsOf(node.id);
    content.textContent = "";
    content.appendChild(h("span", { class: "node-kind" }, [kindOf(node).label + " ", h("span", { class: "node-id", text: node.id })]));
    if (summary) content.appendChild(h("span", { class: "node-summary", text: summary }));
    problems.forEach(function (message) {
      content.appendChild(h("span", { class: "node-problem", "data-testid": "node-problem", text: message }));
    });
    var label = stepName(node);
    if (problems.length) label += ". " + fmt(T.node_problems, { n: problems.length }) + ": " + problems.join(" ");
    if (RESULTS) {
      var counts = (config.results || {})[node.id] || {};
      var badges = h("span", { class: "node-counts" });
      ["entered", "waiting", "passed", "dropped", "failed"].forEach(function (key) {
        var n = counts[key] || 0;
        if (key !== "entered" && !n) return;
        badges.appendChild(h("span", { class: "node-count " + key, "data-count": key, text: n + " " + T.results[key] }));
        label += ". " + n + " " + T.results[key];
      });
      content.appendChild(badges);
    }
    el.classList.toggle("has-problem", problems.length > 0);
    el.setAttribute("aria-label", label);
  }

  function outputClass(node, branch) {
    var i = branchesOf(node).indexOf(branch);
    return i < 0 ? null : "output_" + (i + 1);
  }

  function drawEdge(edge) {
    var from = nodes.get(edge.from);
    var to = nodes.get(edge.to);
    if (!from || !to || !inputsOf(to) || !dfOf.has(edge.from) || !dfOf.has(edge.to)) return;
    var output = outputClass(from, edge.branch);
    if (!output) return;
    quietly(function () { editor.addConnection(dfOf.get(edge.from), dfOf.get(edge.to), output, "input_1"); });
  }

  function undrawEdge(edge) {
    var from = nodes.get(edge.from);
    var output = from && outputClass(from, edge.branch);
    if (!output || !dfOf.has(edge.to)) return;
    quietly(function () { editor.removeSingleConnection(dfOf.get(edge.from), dfOf.get(edge.to), output, "input_1"); });
  }

  function forgetDrawn(id) {
    var df = dfOf.get(id);
    if (editor.node_selected && editor.node_selected.id === "node-" + df) editor.node_selected = null;
    idOf.delete(df);
    dfOf.delete(id);
  }

  // A split's outputs follow its paths: redraw the step with its connections.
  function redrawNode(id) {
    var node = nodes.get(id);
    var df = dfOf.get(id);
    quietly(function () { editor.removeNodeId("node-" + df); });
    forgetDrawn(id);
    drawNode(node);
    edges.forEach(function (edge) {
      if (edge.from === id || edge.to === id) drawEdge(edge);
    });
    markSelected();
  }

  function toCanvas(clientX, clientY) {
    var rect = editor.precanvas.getBoundingClientRect();
    return { x: (clientX - rect.x) / editor.zoom, y: (clientY - rect.y) / editor.zoom };
  }

  function translateCanvas(x, y) {
    editor.canvas_x = x;
    editor.canvas_y = y;
    editor.precanvas.style.transform = "translate(" + x + "px, " + y + "px) scale(" + editor.zoom + ")";
  }

  // Brings a step into view (selected from the list, or focused with Tab).
  function reveal(id) {
    var el = nodeEl(id);
    if (!el) return;
    var box = canvas.getBoundingClientRect();
    var r = el.getBoundingClientRect();
    if (r.left >= box.left && r.right <= box.right && r.top >= box.top && r.bottom <= box.bottom) return;
    translateCanvas(
      editor.canvas_x + (box.left + box.width / 2) - (r.left + r.width / 2),
      editor.canvas_y + (box.top + box.height / 3) - (r.top + r.height / 2)
    );
  }

  // The whole graph in view when the page opens: zoomed out if it is wider or taller than the
  // canvas (a shipped journey's side branches), its top left corner near the canvas's.
  function fitView() {
    if (!nodes.size) return;
    var box = canvas.getBoundingClientRect();
    var measure = function () {
      var union = null;
      canvas.querySelectorAll(".drawflow-node").forEach(function (el) {
        var r = el.getBoundingClientRect();
        union = union
          ? { left: Math.min(union.left, r.left), top: Math.min(union.top, r.top), right: Math.max(union.right, r.right), bottom: Math.max(union.bottom, r.bottom) }
          : { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
      });
      return union;
    };
    var union = measure();
    var scale = Math.min(1, (box.width - 40) / (union.right - union.left), (box.height - 60) / (union.bottom - union.top));
    if (scale < 1) {
      editor.zoom = Math.max(editor.zoom_min, editor.zoom * scale);
      editor.zoom_refresh();
      union = measure();
    }
    translateCanvas(editor.canvas_x + box.left + 20 - union.left, editor.canvas_y + box.top + 24 - union.top);
  }

  // --- Changing the graph ----------------------------------------------------------------------

  function addStep(type, x, y) {
    if (!KINDS[type]) return;
    var node = { id: newId(), type: type, config: defaults(type), x: Math.round(x), y: Math.round(y) };
    nodes.set(node.id, node);
    drawNode(node);
    changed();
    select(node.id, { focus: true });
    announce(fmt(T.status.added, { kind: kindOf(node).label }));
  }

  function freeSpot() {
    var selected = state.selected && nodes.get(state.selected);
    var x = 40;
    var y = 40;
    if (selected) {
      x = selected.x;
      y = selected.y + 130;
    } else if (nodes.size) {
      nodes.forEach(function (node) { y = Math.max(y, node.y + 130); });
    }
    var taken = function () {
      var hit = false;
      nodes.forEach(function (node) {
        if (Math.abs(node.x - x) < 200 && Math.abs(node.y - y) < 100) hit = true;
      });
      return hit;
    };
    while (taken()) y += 110;
    return { x: x, y: y };
  }

  function removeNode(id) {
    var df = dfOf.get(id);
    edges = edges.filter(function (edge) { return edge.from !== id && edge.to !== id; });
    quietly(function () { editor.removeNodeId("node-" + df); });
    forgetNode(id);
    canvas.focus();
  }

  function forgetNode(id) {
    forgetDrawn(id);
    nodes.delete(id);
    edges = edges.filter(function (edge) { return edge.from !== id && edge.to !== id; });
    if (state.selected === id) state.selected = null;
    renderPanel();
    changed();
    announce(T.status.deleted);
  }

  function moveNode(id, dx, dy) {
    var node = nodes.get(id);
    var df = dfOf.get(id);
    var el = nodeEl(id);
    node.x += dx;
    node.y += dy;
    el.style.left = node.x + "px";
    el.style.top = node.y + "px";
    var data = editor.drawflow.drawflow[editor.module].data[df];
    data.pos_x = node.x;
    data.pos_y = node.y;
    editor.updateConnectionNodes("node-" + df);
    changed({ check: false });
  }

  // One connection per path: a new one replaces the old.
  function setEdge(fromId, branch, toId) {
    edges.filter(function (e) { return e.from === fromId && e.branch === branch; }).forEach(undrawEdge);
    edges = edges.filter(function (e) { return !(e.from === fromId && e.branch === branch); });
    if (toId) {
      var edge = { from: fromId, to: toId, branch: branch };
      edges.push(edge);
      drawEdge(edge);
    }
    changed();
  }

  function branchOfOutput(node, outputClassName) {
    var i = parseInt(String(outputClassName).replace("output_", ""), 10) - 1;
    return branchesOf(node)[i];
  }

  if (!RESULTS) {
    editor.on("connectionCreated", function (c) {
      if (muted) return;
      var fromId = idOf.get(String(c.output_id));
      var toId = idOf.get(String(c.input_id));
      var from = nodes.get(fromId);
      var branch = from && branchOfOutput(from, c.output_class);
      if (!branch || !toId) return;
      edges
        .filter(function (e) { return e.from === fromId && e.branch === branch && e.to !== toId; })
        .forEach(undrawEdge);
      edges = edges.filter(function (e) { return !(e.from === fromId && e.branch === branch); });
      edges.push({ from: fromId, to: toId, branch: branch });
      changed();
      if (state.selected === fromId) renderPanel();
    });
    editor.on("connectionRemoved", function (c) {
      if (muted) return;
      var fromId = idOf.get(String(c.output_id));
      var toId = idOf.get(String(c.input_id));
      var from = nodes.get(fromId);
      var branch = from && branchOfOutput(from, c.output_class);
      edges = edges.filter(function (e) { return !(e.from === fromId && e.to === toId && e.branch === branch); });
      changed();
      if (state.selected === fromId) renderPanel();
    });
    editor.on("nodeRemoved", function (df) {
      if (muted) return;
      var id = idOf.get(String(df));
      if (id) forgetNode(id);
    });
    editor.on("nodeMoved", function (df) {
      var id = idOf.get(String(df));
      var node = nodes.get(id);
      var data = editor.drawflow.drawflow[editor.module].data[df];
      if (!node || !data) return;
      node.x = Math.round(data.pos_x);
      node.y = Math.round(data.pos_y);
      changed({ check: false });
    });
    editor.on("nodeSelected", function (df) {
      var id = idOf.get(String(df));
      // After the mouse button's own focus change, so that focus lands in the panel.
      if (id) select(id, { focus: true, later: true });
    });
  }

  function onCanvasKey(event) {
    if (RESULTS) return;
    var nodeElement = event.target.closest ? event.target.closest(".drawflow-node") : null;
    var id = nodeElement && nodeElement.getAttribute("data-node");
    if (id && nodes.has(id)) {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        select(id, { focus: true });
        return;
      }
      if (event.key === "Delete" || event.key === "Backspace") {
        event.preventDefault();
        removeNode(id);
        return;
      }
      var step = event.shiftKey ? 50 : 10;
      var moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
      if (moves[event.key]) {
        event.preventDefault();
        moveNode(id, moves[event.key][0], moves[event.key][1]);
      }
      return;
    }
    if ((event.key === "Delete" || event.key === "Backspace") && editor.connection_selected) {
      event.preventDefault();
      editor.removeConnection();
    }
  }

  canvas.addEventListener("focusin", function (event) {
    var el = event.target.closest && event.target.closest(".drawflow-node");
    if (el && el.getAttribute("data-node")) reveal(el.getAttribute("data-node"));
  });

  // --- Palette: drag onto the canvas, or press to add below the selected step ------------------

  if (!RESULTS) {
    root.querySelectorAll("[data-kind]").forEach(function (button) {
      var kind = button.getAttribute("data-kind");
      button.addEventListener("click", function () {
        var spot = freeSpot();
        addStep(kind, spot.x, spot.y);
        reveal(state.selected);
      });
      button.addEventListener("dragstart", function (event) {
        event.dataTransfer.setData(MIME, kind);
        event.dataTransfer.setData("text/plain", kind);
        event.dataTransfer.effectAllowed = "copy";
      });
    });
    canvas.addEventListener("dragover", function (event) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      canvas.classList.add("drop-target");
    });
    canvas.addEventListener("dragleave", function () { canvas.classList.remove("drop-target"); });
    canvas.addEventListener("drop", function (event) {
      event.preventDefault();
      canvas.classList.remove("drop-target");
      var kind = event.dataTransfer.getData(MIME) || event.dataTransfer.getData("text/plain");
      if (!KINDS[kind]) return;
      var at = toCanvas(event.clientX, event.clientY);
      addStep(kind, at.x - 100, at.y - 25);
    });
  }

  root.querySelectorAll("[data-zoom]").forEach(function (button) {
    button.addEventListener("click", function () {
      var how = button.getAttribute("data-zoom");
      if (how === "in") editor.zoom_in();
      else if (how === "out") editor.zoom_out();
      else editor.zoom_reset();
    });
  });

  // --- Selection, the list of steps and the problems -------------------------------------------

  var panel = root.querySelector("[data-panel]");
  var panelTitle = root.querySelector("[data-panel-title]");
  var panelBody = root.querySelector("[data-panel-body]");
  var stepsList = root.querySelector("[data-steps]");
  var problemsList = root.querySelector("[data-problems]");
  var saveState = root.querySelector("[data-save-state]");
  var panelDefaultTitle = panelTitle ? panelTitle.textContent : "";

  function markSelected() {
    canvas.querySelectorAll(".drawflow-node.is-selected").forEach(function (el) { el.classList.remove("is-selected"); });
    var el = state.selected && nodeEl(state.selected);
    if (el) el.classList.add("is-selected");
  }

  function select(id, options) {
    if (RESULTS || !nodes.has(id)) return;
    var again = state.selected === id;
    state.selected = id;
    markSelected();
    if (!again) renderPanel();
    renderSteps();
    if (options && options.focus && panelTitle) {
      // A mouse press must not scroll the page under a step being dragged.
      var go = function () { panelTitle.focus({ preventScroll: !!options.later }); };
      if (options.later) setTimeout(go, 0);
      else go();
    }
  }

  function renderSteps() {
    if (!stepsList) return;
    stepsList.textContent = "";
    nodes.forEach(function (node) {
      var current = node.id === state.selected;
      var item = h("li", { class: current ? "is-selected" : "", "data-testid": "step", "data-node": node.id }, [
        h("button", {
          type: "button",
          "aria-current": current ? "true" : null,
          onclick: function () { select(node.id, { focus: true }); reveal(node.id); },
        }, [stepName(node)]),
      ]);
      problemsOf(node.id).forEach(function (message) {
        item.appendChild(h("span", { class: "step-problem", text: message }));
      });
      stepsList.appendChild(item);
    });
  }

  function renderProblems() {
    nodes.forEach(renderNode);
    renderSteps();
    renderPanelProblems();
    if (problemsList) {
      problemsList.textContent = "";
      if (!state.problems.length) problemsList.appendChild(h("li", { class: "ok", text: T.no_problems }));
      state.problems.forEach(function (problem) {
        var node = problem.node && nodes.get(problem.node);
        var item = h("li", { "data-testid": "problem", "data-node": problem.node || "" });
        if (node) {
          item.appendChild(h("button", {
            type: "button",
            onclick: function () { select(node.id, { focus: true }); reveal(node.id); },
          }, [stepName(node)]));
          item.appendChild(document.createTextNode(": " + problem.message));
        } else {
          item.textContent = (problem.node || T.graph_problem) + ": " + problem.message;
        }
        problemsList.appendChild(item);
      });
    }
    updateButtons();
  }

  // --- The side panel --------------------------------------------------------------------------

  var uid = 0;

  function field(label, control, hint) {
    if (!control.id) control.id = "jb-field-" + ++uid;
    return h("div", { class: "field" }, [
      h("label", { for: control.id, text: label }),
      control,
      hint ? h("small", { class: "muted" }, [hint]) : null,
    ]);
  }

  function note(text) {
    return h("p", { class: "note", text: text });
  }

  function configChanged(node, how) {
    renderNode(node);
    if (how && how.redraw) redrawNode(node.id);
    if (how && how.panel) renderPanel();
    changed();
  }

  function setValue(node, key, value, how) {
    if (value === undefined || value === null || value === "") delete node.config[key];
    else node.config[key] = value;
    configChanged(node, how);
  }

  function textField(node, key, label, options) {
    options = options || {};
    var value = node.config[key];
    var input = h("input", {
      type: options.type || "text",
      "data-key": "cfg." + key,
      value: value === undefined || value === null ? "" : String(value),
      maxlength: options.type === "number" ? null : 200,
      min: options.min,
      max: options.max,
      step: options.type === "number" ? 1 : null,
      list: options.list,
      autocomplete: "off",
    });
    input.addEventListener("input", function () {
      setValue(node, key, options.type === "number" ? numberValue(input.value) : input.value);
    });
    return field(label, input, options.hint);
  }

  function selectField(node, key, label, choices, options) {
    options = options || {};
    var current = node.config[key];
    var select = h("select", { "data-key": "cfg." + key });
    select.appendChild(h("option", { value: "" }, [T.choose]));
    choices.forEach(function (choice) {
      select.appendChild(h("option", {
        value: String(choice[0]),
        selected: current !== undefined && String(current) === String(choice[0]),
      }, [String(choice[1])]));
    });
    select.addEventListener("change", function () {
      var value = select.value === "" ? "" : options.number ? parseInt(select.value, 10) : select.value;
      if (options.reset) {
        // Another kind of trigger or condition: the settings of the old kind go.
        node.config = value === "" ? {} : { kind: value };
        configChanged(node, { panel: true });
        return;
      }
      setValue(node, key, value, { panel: options.panel });
    });
    return field(label, select, options.hint);
  }

  function checkField(node, key, label) {
    var input = h("input", { type: "checkbox", "data-key": "cfg." + key, checked: !!node.config[key] });
    input.addEventListener("change", function () {
      node.config[key] = input.checked;
      configChanged(node);
    });
    return h("div", { class: "field checks" }, [h("label", {}, [input, " " + label])]);
  }

  function checkList(node, key, legend, choices, fallback) {
    var chosen = Array.isArray(node.config[key]) ? node.config[key] : fallback.slice();
    var box = h("fieldset", { class: "checks" }, [h("legend", { text: legend })]);
    choices.forEach(function (choice, i) {
      var input = h("input", {
        type: "checkbox",
        "data-key": "cfg." + key + "." + i,
        value: String(choice[0]),
        checked: chosen.indexOf(choice[0]) >= 0,
      });
      input.addEventListener("change", function () {
        node.config[key] = choices
          .filter(function (c, j) { return box.querySelector('[data-key="cfg.' + key + "." + j + '"]').checked; })
          .map(function (c) { return c[0]; });
        configChanged(node);
      });
      box.appendChild(h("label", {}, [input, " " + choice[1]]));
    });
    return box;
  }

  function segmentChoices(staticOnly) {
    return OPT.segments
      .filter(function (s) { return !staticOnly || s.kind === "static"; })
      .map(function (s) { return [s.id, s.name]; });
  }

  function templateField(node, channel) {
    var choices = OPT.templates
      .filter(function (t) { return !channel || t.channel === channel; })
      .map(function (t) { return [t.id, t.name + (channel ? "" : " (" + (channelLabels[t.channel] || t.channel) + ")")]; });
    var hint = null;
    if (!choices.length) {
      hint = h("span", {}, [
        T.field.no_templates + " ",
        h("a", { href: config.urls.template_new + (channel ? "?channel=" + channel : ""), target: "_blank", rel: "noopener" }, [T.field.write_template]),
      ]);
    }
    return selectField(node, "template", T.field.template, choices, { number: true, hint: hint });
  }

  function conditionsEditor(node, key, kind, legend) {
    var list = Array.isArray(node.config[key]) ? node.config[key] : [];
    var box = h("fieldset", { "data-testid": "conditions" }, [h("legend", { text: legend })]);
    list.forEach(function (condition, i) {
      if (!isObject(condition)) return;
      var group = h("div", { class: "condition", role: "group", "aria-label": fmt(T.field.condition_n, { n: i + 1 }) });
      var property = h("input", {
        type: "text",
        "data-key": key + "." + i + ".property",
        value: condition.property || "",
        list: kind === "fit" ? "jb-contact-fields" : null,
        autocomplete: "off",
      });
      property.addEventListener("input", function () { condition.property = property.value; configChanged(node); });
      var operator = h("select", { "data-key": key + "." + i + ".operator" });
      OPT.operators.forEach(function (op) {
        operator.appendChild(h("option", { value: op[0], selected: condition.operator === op[0] }, [op[1]]));
      });
      operator.addEventListener("change", function () {
        condition.operator = operator.value;
        if (OPT.no_value_operators.indexOf(operator.value) >= 0) delete condition.value;
        configChanged(node, { panel: true });
      });
      group.appendChild(field(T.field.property, property));
      group.appendChild(field(T.field.operator, operator));
      if (OPT.no_value_operators.indexOf(condition.operator) < 0) {
        var value = h("input", {
          type: "text",
          "data-key": key + "." + i + ".value",
          value: Array.isArray(condition.value) ? condition.value.join(", ") : condition.value || "",
          autocomplete: "off",
        });
        value.addEventListener("input", function () { condition.value = value.value; configChanged(node); });
        group.appendChild(field(T.field.value, value));
      }
      group.appendChild(h("button", {
        type: "button",
        "data-key": key + "." + i + ".remove",
        onclick: function () {
          list.splice(i, 1);
          node.config[key] = list;
          configChanged(node, { panel: true });
        },
      }, [T.remove]));
      box.appendChild(group);
    });
    box.appendChild(h("button", {
      type: "button",
      "data-key": key + ".add",
      onclick: function () {
        list.push({ property: "", operator: "eq", value: "" });
        node.config[key] = list;
        configChanged(node, { panel: true });
        var added = panel.querySelector('[data-key="' + key + "." + (list.length - 1) + '.property"]');
        if (added) added.focus();
      },
    }, [T.field.add_condition]));
    return box;
  }

  function splitEditor(node) {
    var list = Array.isArray(node.config.branches) ? node.config.branches : [];
    var box = h("fieldset", { "data-testid": "split-paths" }, [h("legend", { text: T.field.branches })]);
    list.forEach(function (branch, i) {
      if (!isObject(branch)) return;
      var key = h("input", { type: "text", "data-key": "split." + i + ".key", value: branchesOf(node)[i], maxlength: 40 });
      key.addEventListener("change", function () {
        var before = branchesOf(node)[i];
        branch.key = key.value.trim();
        var after = branchesOf(node)[i];
        edges.forEach(function (edge) { if (edge.from === node.id && edge.branch === before) edge.branch = after; });
        configChanged(node, { redraw: true, panel: true });
      });
      var percent = h("input", {
        type: "number", min: 1, max: 100, step: 1, "data-key": "split." + i + ".percent",
        value: branch.percent === undefined ? "" : String(branch.percent),
      });
      percent.addEventListener("input", function () {
        branch.percent = numberValue(percent.value);
        configChanged(node);
      });
      var row = h("div", { class: "row" }, [
        field(fmt(T.field.branch_key, { n: i + 1 }), key),
        field(fmt(T.field.branch_percent, { n: i + 1 }), percent),
      ]);
      if (list.length > 2) {
        row.appendChild(h("div", { class: "field" }, [h("button", {
          type: "button",
          "data-key": "split." + i + ".remove",
          onclick: function () {
            var gone = branchesOf(node)[i];
            edges.filter(function (e) { return e.from === node.id && e.branch === gone; }).forEach(undrawEdge);
            edges = edges.filter(function (e) { return !(e.from === node.id && e.branch === gone); });
            list.splice(i, 1);
            configChanged(node, { redraw: true, panel: true });
          },
        }, [T.remove])]));
      }
      box.appendChild(row);
    });
    box.appendChild(h("button", {
      type: "button",
      "data-key": "split.add",
      onclick: function () {
        var used = branchesOf(node);
        var letter = 0;
        while (used.indexOf(String.fromCharCode(97 + letter)) >= 0) letter += 1;
        list.push({ key: String.fromCharCode(97 + letter), percent: 0 });
        node.config.branches = list;
        configChanged(node, { redraw: true, panel: true });
      },
    }, [T.field.add_branch]));
    return box;
  }

  var F = T.field;
  var FORMS = {
    trigger: function (node) {
      var c = node.config;
      var out = [selectField(node, "kind", F.trigger_kind, OPT.triggers, { reset: true })];
      if (c.kind === "event") {
        out.push(textField(node, "event", F.event));
        out.push(conditionsEditor(node, "conditions", "behaviour", F.trigger_conditions));
      } else if (c.kind === "segment_entered" || c.kind === "segment_exited") {
        out.push(selectField(node, "segment", F.segment, segmentChoices(false), { number: true }));
      } else if (c.kind === "stage_changed") {
        out.push(selectField(node, "stage", F.stage, OPT.stages));
      } else if (c.kind === "date_property") {
        out.push(selectField(node, "property", F.date_property, OPT.date_properties));
        out.push(textField(node, "days", F.days_after, { type: "number", min: 0, max: 3650 }));
      } else if (c.kind === "survey_answered") {
        out.push(selectField(node, "survey", F.survey, OPT.surveys.map(function (s) { return [s.id, s.name]; }), { number: true }));
      }
      out.push(note(T.note.trigger));
      return out;
    },
    wait: function (node) {
      return [h("div", { class: "row" }, [
        textField(node, "days", F.days, { type: "number", min: 0, max: 10000 }),
        textField(node, "hours", F.hours, { type: "number", min: 0, max: 10000 }),
        textField(node, "minutes", F.minutes, { type: "number", min: 0, max: 10000 }),
      ])];
    },
    wait_until: function (node) {
      return [
        textField(node, "time", F.time, { type: "time" }),
        checkList(node, "weekdays", F.weekdays, OPT.weekdays.map(function (label, i) { return [i, label]; }), [0, 1, 2, 3, 4, 5, 6]),
      ];
    },
    wait_event: function (node) {
      return [
        textField(node, "event", F.wait_event),
        textField(node, "hours", F.timeout_hours, { type: "number", min: 1, max: 8760 }),
      ];
    },
    condition: function (node) {
      var c = node.config;
      var out = [selectField(node, "kind", F.condition_kind, OPT.condition_kinds, { reset: true })];
      if (c.kind === "property") {
        out.push(conditionsEditor(node, "conditions", "fit", F.conditions));
      } else if (c.kind === "event") {
        out.push(textField(node, "event", F.event));
        out.push(h("div", { class: "row" }, [
          textField(node, "count", F.count, { type: "number", min: 1, max: 10000 }),
          textField(node, "days", F.within_days, { type: "number", min: 1, max: 3650 }),
        ]));
      } else if (c.kind === "segment") {
        out.push(selectField(node, "segment", F.segment, segmentChoices(false), { number: true }));
      } else if (c.kind === "consent") {
        out.push(selectField(node, "channel", F.channel, OPT.channels));
      } else if (c.kind === "stage") {
        out.push(checkList(node, "stages", F.stages, OPT.stages, []));
      }
      return out;
    },
    split: function (node) { return [splitEditor(node)]; },
    send_email: function (node) { return [templateField(node, "email"), checkField(node, "best_time", F.best_time)]; },
    send_sms: function (node) { return [templateField(node, "sms"), checkField(node, "best_time", F.best_time)]; },
    send_survey: function (node) {
      return [
        selectField(node, "survey", F.survey, OPT.surveys.map(function (s) { return [s.id, s.name]; }), { number: true }),
        templateField(node, null),
      ];
    },
    create_task: function (node) {
      var body = h("textarea", { rows: 3, "data-key": "cfg.body" }, [node.config.body || ""]);
      body.addEventListener("input", function () { setValue(node, "body", body.value); });
      return [
        textField(node, "title", F.task_title),
        field(F.task_body, body),
        selectField(node, "role", F.task_role, OPT.roles),
      ];
    },
    update_property: function (node) {
      return [
        textField(node, "property", F.prop_name),
        textField(node, "value", F.prop_value),
        checkField(node, "tag", F.as_tag),
      ];
    },
    change_stage: function (node) { return [selectField(node, "stage", F.stage, OPT.stages)]; },
    list_add: function (node) { return [selectField(node, "segment", F.list, segmentChoices(true), { number: true })]; },
    list_remove: function (node) { return [selectField(node, "segment", F.list, segmentChoices(true), { number: true })]; },
    webhook: function (node) { return [textField(node, "url", F.url, { type: "url" })]; },
    issue_code: function (node) {
      return [selectField(node, "campaign", F.campaign, OPT.campaigns.map(function (c) { return [c.id, c.name]; }), { number: true })];
    },
    goal: function (node) { return [textField(node, "event", F.goal_event), note(T.note.goal)]; },
    exit: function () { return [note(T.note.exit)]; },
  };

  function pathsFieldset(node) {
    var branches = branchesOf(node);
    var own = edges.filter(function (e) { return e.from === node.id && branches.indexOf(e.branch) < 0; });
    if (!branches.length && !own.length) return null;
    var box = h("fieldset", { "data-testid": "paths" }, [h("legend", { text: T.paths })]);
    var targets = [];
    nodes.forEach(function (other) { if (other.id !== node.id && inputsOf(other)) targets.push(other); });
    branches.forEach(function (branch) {
      var label = kindOf(node).dynamic ? fmt(T.path.split, { key: branch }) : T.path[branch] || branch;
      var current = edges.filter(function (e) { return e.from === node.id && e.branch === branch; })[0];
      var select = h("select", { "data-key": "path." + branch, "data-branch": branch });
      select.appendChild(h("option", { value: "" }, [T.end_here]));
      targets.forEach(function (target) {
        select.appendChild(h("option", { value: target.id, selected: !!current && current.to === target.id }, [stepName(target)]));
      });
      select.addEventListener("change", function () { setEdge(node.id, branch, select.value || null); });
      box.appendChild(field(label, select));
    });
    own.forEach(function (edge) {
      box.appendChild(h("p", { class: "note" }, [
        fmt(T.path.other, { key: edge.branch, to: edge.to }) + " ",
        h("button", {
          type: "button",
          onclick: function () {
            edges = edges.filter(function (e) { return e !== edge; });
            changed();
            renderPanel();
          },
        }, [T.remove]),
      ]));
    });
    return box;
  }

  function renderPanelProblems() {
    var box = panel && panel.querySelector("[data-panel-problems]");
    if (!box) return;
    box.textContent = "";
    problemsOf(state.selected).forEach(function (message) {
      box.appendChild(h("p", { class: "field-problem", text: message }));
    });
  }

  function renderPanel() {
    if (!panel) return;
    var active = document.activeElement;
    var key = active && panel.contains(active) ? active.getAttribute("data-key") : null;
    var node = state.selected && nodes.get(state.selected);
    panelBody.textContent = "";
    if (!node) {
      panelTitle.textContent = panelDefaultTitle;
      panelBody.appendChild(h("p", { class: "muted", text: T.panel_empty }));
      return;
    }
    panelTitle.textContent = kindOf(node).label + " · " + fmt(T.step, { id: node.id });
    panelBody.appendChild(h("div", { "data-panel-problems": true, "data-testid": "panel-problems" }));
    (FORMS[node.type] || function () { return []; })(node).forEach(function (part) { panelBody.appendChild(part); });
    var paths = pathsFieldset(node);
    if (paths) panelBody.appendChild(paths);
    panelBody.appendChild(h("p", {}, [h("button", {
      type: "button",
      class: "danger",
      "data-key": "delete",
      "data-testid": "delete-step",
      onclick: function () { removeNode(node.id); },
    }, [T.delete_step])]));
    renderPanelProblems();
    if (key) {
      var again = panel.querySelector('[data-key="' + key.replace(/["\\]/g, "") + '"]');
      if (again) again.focus();
    }
  }

  if (panel) {
    panel.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") return;
      event.preventDefault();
      var el = state.selected && nodeEl(state.selected);
      (el || canvas).focus();
    });
  }

  // --- Saving, checking, publishing ------------------------------------------------------------

  var buttons = {
    save: root.querySelector('[data-action="save"]'),
    publish: root.querySelector('[data-action="publish"]'),
    pause: root.querySelector('[data-status="paused"]'),
    resume: root.querySelector('[data-status="active"]'),
    archive: root.querySelector('[data-status="archived"]'),
  };
  var conflictBox = root.querySelector("[data-conflict]");

  function announce(text, error) {
    if (!saveState) return;
    saveState.textContent = text;
    saveState.classList.toggle("error", !!error);
  }

  function dirty() {
    return state.changes !== state.savedChanges;
  }

  function updateButtons() {
    if (RESULTS || !buttons.save) return;
    if (problemsList) problemsList.setAttribute("aria-busy", state.checking ? "true" : "false");
    buttons.save.disabled = state.busy || state.conflict;
    buttons.publish.disabled = state.busy || state.conflict || state.checking || state.problems.length > 0;
    buttons.pause.hidden = state.status !== "active";
    buttons.resume.hidden = state.status !== "paused";
    buttons.archive.hidden = state.status === "archived";
    [buttons.pause, buttons.resume, buttons.archive].forEach(function (b) { b.disabled = state.busy; });
  }

  function graph() {
    var out = { nodes: [], edges: [] };
    nodes.forEach(function (node) {
      out.nodes.push({ id: node.id, type: node.type, config: node.config, x: node.x, y: node.y });
    });
    edges.forEach(function (edge) { out.edges.push({ from: edge.from, to: edge.to, branch: edge.branch }); });
    return out;
  }

  function send(url, body, asForm) {
    var headers = { "X-CSRFToken": csrf, Accept: "application/json" };
    var payload;
    if (asForm) {
      payload = new URLSearchParams(body);
      headers["Content-Type"] = "application/x-www-form-urlencoded";
    } else {
      payload = JSON.stringify(body);
      headers["Content-Type"] = "application/json";
    }
    return fetch(url, { method: "POST", headers: headers, body: payload, credentials: "same-origin" }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, status: response.status, body: data || {} };
      });
    });
  }

  var checkTimer = null;
  var checkRound = 0;

  function scheduleCheck() {
    clearTimeout(checkTimer);
    checkRound += 1;
    var round = checkRound;
    state.checking = true;
    updateButtons();
    checkTimer = setTimeout(function () {
      send(config.urls.check, { graph: graph() }).then(function (answer) {
        if (round !== checkRound) return; // a later change asks again
        state.checking = false;
        if (answer.ok) {
          state.problems = answer.body.problems || [];
          renderProblems();
        } else {
          updateButtons();
        }
      }, function () {
        if (round !== checkRound) return;
        state.checking = false;
        updateButtons();
      });
    }, 300);
  }

  function changed(options) {
    if (RESULTS) return;
    state.changes += 1;
    renderSteps();
    announce(T.status.unsaved);
    updateButtons();
    if (!options || options.check !== false) scheduleCheck();
  }

  function failed(answer) {
    state.busy = false;
    if (answer && answer.status === 409) {
      showConflict();
      return false;
    }
    var reason = answer ? answer.body.error || String(answer.status) : null;
    announce(reason ? fmt(T.status.error, { reason: reason }) : T.status.offline, true);
    updateButtons();
    return false;
  }

  function save() {
    if (state.busy || state.conflict) return Promise.resolve(false);
    state.busy = true;
    updateButtons();
    announce(T.status.saving);
    var at = state.changes;
    return send(config.urls.draft, { version: state.version, graph: graph() }).then(function (answer) {
      if (!answer.ok) return failed(answer);
      state.busy = false;
      state.version = answer.body.version;
      state.savedChanges = at;
      if (at === state.changes) {
        state.problems = answer.body.problems || [];
        renderProblems();
      }
      announce(dirty() ? T.status.unsaved : T.status.saved);
      updateButtons();
      return true;
    }, function () { return failed(null); });
  }

  function publish() {
    (dirty() ? save() : Promise.resolve(true)).then(function (saved) {
      if (!saved || dirty() || state.problems.length) return;
      state.busy = true;
      updateButtons();
      announce(T.status.publishing);
      send(config.urls.publish, { version: state.version }, true).then(function (answer) {
        if (!answer.ok) {
          if (answer.body && answer.body.problems) {
            state.problems = answer.body.problems;
            renderProblems();
          }
          return failed(answer);
        }
        state.busy = false;
        applyJourney(answer.body);
        announce(fmt(T.status.published, { n: answer.body.live }));
      }, function () { return failed(null); });
    });
  }

  function setStatus(status) {
    if (status === "archived" && !window.confirm(T.status.archive_confirm)) return;
    state.busy = true;
    updateButtons();
    send(config.urls.status, { status: status }, true).then(function (answer) {
      if (!answer.ok) return failed(answer);
      state.busy = false;
      applyJourney(answer.body);
      announce(fmt(T.status.changed, { status: T.statuses[answer.body.status] || answer.body.status }));
    }, function () { return failed(null); });
  }

  function applyJourney(journey) {
    state.status = journey.status;
    state.live = journey.live;
    var badge = root.querySelector("[data-journey-status]");
    if (badge) {
      badge.textContent = T.statuses[journey.status] || journey.status;
      badge.className = "badge journey-status-" + journey.status;
    }
    var live = root.querySelector("[data-live-version]");
    if (live) live.textContent = journey.live ? fmt(T.status.live, { n: journey.live }) : T.status.not_published;
    updateButtons();
  }

  function showConflict() {
    state.conflict = true;
    conflictBox.hidden = false;
    conflictBox.querySelector("[data-conflict-text]").textContent = T.status.conflict;
    announce("");
    updateButtons();
    conflictBox.querySelector("button").focus();
  }

  root.addEventListener("click", function (event) {
    var button = event.target.closest("[data-action]");
    if (!button || button.disabled) return;
    var action = button.getAttribute("data-action");
    if (action === "save") save();
    else if (action === "publish") publish();
    else if (action === "status") setStatus(button.getAttribute("data-status"));
    else if (action === "reload") {
      state.savedChanges = state.changes; // leaving on purpose: no "unsaved changes" prompt
      window.location.reload();
    }
  });

  window.addEventListener("beforeunload", function (event) {
    if (!RESULTS && dirty()) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // --- Start -----------------------------------------------------------------------------------

  if (!RESULTS) {
    var fields = h("datalist", { id: "jb-contact-fields" });
    OPT.contact_fields.forEach(function (name) { fields.appendChild(h("option", { value: name })); });
    root.appendChild(fields);
  }
  nodes.forEach(drawNode);
  edges.forEach(drawEdge);
  if (RESULTS) {
    // Read only: tall enough to show every step without panning.
    var highest = Infinity;
    var lowest = -Infinity;
    nodes.forEach(function (node) {
      highest = Math.min(highest, node.y);
      lowest = Math.max(lowest, node.y);
    });
    if (nodes.size) canvas.style.height = Math.min(Math.max(lowest - highest + 220, 320), 1600) + "px";
  }
  renderProblems();
  renderPanel();
  updateButtons();
  fitView();
})();

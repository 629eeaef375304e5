// The rules editor: line numbers, the checker's problems at their lines as you type (debounced),
// two spaces for Tab (YAML forbids tabs), and a word before leaving unsaved changes.
(function () {
  "use strict";
  var form = document.getElementById("editor-form");
  if (!form) { return; }
  var text = document.getElementById("text");
  var gutter = document.getElementById("gutter");
  var list = document.getElementById("problems");
  var status = document.getElementById("check-status");
  var checkUrl = form.getAttribute("data-check");
  var csrf = form.querySelector("input[name=csrf]").value;
  // the text as saved: unknown when the page shows unsaved text (after a check, test or try)
  var saved = form.hasAttribute("data-dirty") ? null : text.value, timer = null, asked = 0, marks = {};

  function lines() { return Math.max(1, text.value.split("\n").length - (text.value.endsWith("\n") ? 1 : 0)); }
  function drawGutter() {
    var html = [];
    for (var n = 1; n <= lines(); n++) {
      var mark = marks[n] ? ' class="' + marks[n].severity + '" title="' + escapeHtml(marks[n].message) + '"' : "";
      html.push("<span" + mark + ' id="line-' + n + '">' + n + "</span>");
    }
    gutter.innerHTML = html.join("");
    gutter.scrollTop = text.scrollTop;
  }
  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function goTo(line) {
    var starts = text.value.split("\n"), at = 0;
    for (var i = 0; i < line - 1 && i < starts.length; i++) { at += starts[i].length + 1; }
    text.focus();
    text.setSelectionRange(at, at + (starts[line - 1] || "").length);
    text.scrollTop = Math.max(0, (line - 5) * parseFloat(getComputedStyle(text).lineHeight));
  }
  function showProblems(answer) {
    marks = {};
    var items = answer.problems.map(function (p) {
      if (!marks[p.line] || p.severity === "error") { marks[p.line] = p; }
      return '<li class="' + p.severity + '" data-line="' + p.line + '"><a href="#line-' + p.line + '">line ' + p.line +
        "</a>: " + (p.severity === "warning" ? "warning: " : "") + escapeHtml(p.message) +
        (p.hint ? ' <span class="muted">(' + escapeHtml(p.hint) + ")</span>" : "") + "</li>";
    });
    list.innerHTML = items.join("");
    var errors = answer.problems.filter(function (p) { return p.severity === "error"; }).length;
    status.textContent = errors ? errors + " problem(s) in this file" :
      (answer.problems.length ? "no mistakes; " + answer.problems.length + " warning(s)" : "no problems found");
    status.className = errors ? "bad" : "ok";
    if (answer.others) { status.textContent += "; other files have " + answer.others + " problem(s)"; }
    drawGutter();
  }
  function check() {
    var mine = ++asked;
    status.textContent = "checking…"; status.className = "muted";
    var body = new URLSearchParams({ csrf: csrf, text: text.value });
    fetch(checkUrl, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (answer) { if (mine === asked && answer.problems) { showProblems(answer); } })
      .catch(function () { if (mine === asked) { status.textContent = "could not check (is the engine running?)"; } });
  }
  text.addEventListener("input", function () {
    drawGutter();
    document.getElementById("unsaved").hidden = text.value === saved;
    clearTimeout(timer);
    timer = setTimeout(check, 500);
  });
  text.addEventListener("scroll", function () { gutter.scrollTop = text.scrollTop; });
  text.addEventListener("keydown", function (event) {
    if (event.key === "Tab" && !event.shiftKey && !event.ctrlKey && !event.altKey) {
      event.preventDefault();
      var start = text.selectionStart;
      text.setRangeText("  ", start, text.selectionEnd, "end");
      text.dispatchEvent(new Event("input"));
    }
  });
  list.addEventListener("click", function (event) {
    var item = event.target.closest("li[data-line]");
    if (item) { event.preventDefault(); goTo(parseInt(item.getAttribute("data-line"), 10)); }
  });
  form.addEventListener("submit", function () { saved = text.value; });
  window.addEventListener("beforeunload", function (event) {
    if (text.value !== saved) { event.preventDefault(); event.returnValue = ""; }
  });
  list.querySelectorAll("li[data-line]").forEach(function (item) {
    var line = parseInt(item.getAttribute("data-line"), 10);
    if (!marks[line] || item.classList.contains("error")) {
      marks[line] = { severity: item.classList.contains("warning") ? "warning" : "error", message: item.textContent };
    }
  });
  drawGutter();
})();

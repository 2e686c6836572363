// The cadence steps editor, in the page: add a step, move steps up and down, and show the
// template field only for e-mail and SMS steps (with only templates of that channel).
// Without this file the same buttons submit the form and the server redraws the rows, so
// every row's fields are named step-<index>-<field> and this script renumbers them after
// each change: the server reads the steps in index order.
(function () {
  "use strict";

  var ROW = "[data-step-row]";

  function renumber(box) {
    var rows = box.querySelectorAll("[data-step-list] > " + ROW);
    rows.forEach(function (row, index) {
      row.querySelectorAll("[name], [id], label[for], [aria-describedby]").forEach(function (el) {
        ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value) el.setAttribute(attr, value.replace(/step-(\d+|__n__)-/, "step-" + index + "-"));
        });
      });
      row.querySelectorAll("[data-step-move]").forEach(function (button) {
        button.value = button.getAttribute("data-step-move") + "-" + index;
        var first = button.getAttribute("data-step-move") === "up" && index === 0;
        var last = button.getAttribute("data-step-move") === "down" && index === rows.length - 1;
        button.disabled = first || last;
      });
      var number = row.querySelector("[data-step-number]");
      if (number) number.textContent = String(index + 1);
    });
    box.querySelector("[data-step-count]").value = String(rows.length);
  }

  function kinds(box, name) {
    return (box.getAttribute(name) || "").split(" ");
  }

  // An e-mail step offers e-mail templates, an SMS step SMS ones; other touches use none.
  // On a change of kind a template that no longer fits is cleared; on load it stays, so the
  // server's message about it stays visible too.
  function showTemplate(box, row, changed) {
    var kind = row.querySelector("select[name$='-kind']");
    var wrap = row.querySelector("[data-step-template]");
    var select = wrap && wrap.querySelector("select");
    if (!kind || !select) return;
    var channel = kinds(box, "data-email-kinds").indexOf(kind.value) >= 0 ? "email"
      : kinds(box, "data-sms-kinds").indexOf(kind.value) >= 0 ? "sms" : "";
    if (channel === "" && changed) select.value = "";
    wrap.hidden = channel === "" && select.value === "";
    wrap.classList.toggle("is-needed", kinds(box, "data-auto-kinds").indexOf(kind.value) >= 0);
    Array.prototype.forEach.call(select.options, function (option) {
      var other = option.value && channel && option.getAttribute("data-channel") !== channel;
      option.hidden = Boolean(other);
      option.disabled = Boolean(other);
    });
    if (changed && select.selectedOptions[0] && select.selectedOptions[0].disabled) {
      select.value = "";
    }
  }

  function addRow(box) {
    var list = box.querySelector("[data-step-list]");
    var rows = list.querySelectorAll(ROW);
    if (rows.length >= Number(box.getAttribute("data-max-steps") || 60)) return false;
    var blank = document.querySelector("template[data-step-blank]");
    var row = blank.content.firstElementChild.cloneNode(true);
    // The new step starts on the day of the one before it: touches come on the same day or later.
    var days = list.querySelectorAll("input[name$='-day']");
    var lastDay = days.length ? days[days.length - 1].value : "0";
    list.appendChild(row);
    renumber(box);
    var day = row.querySelector("input[name$='-day']");
    day.value = lastDay || "0";
    showTemplate(box, row, false);
    row.scrollIntoView({ block: "nearest" });
    day.focus();
    return true;
  }

  function move(box, button) {
    var row = button.closest(ROW);
    var up = button.getAttribute("data-step-move") === "up";
    var other = up ? row.previousElementSibling : row.nextElementSibling;
    if (!other) return;
    row.parentNode.insertBefore(row, up ? other : other.nextElementSibling);
    renumber(box);
    var again = row.querySelector("[data-step-move='" + (up ? "up" : "down") + "']");
    (again.disabled ? row.querySelector("[data-step-move]:not([disabled])") : again).focus();
  }

  function init(box) {
    box.querySelectorAll(ROW).forEach(function (row) {
      showTemplate(box, row, false);
      var remove = row.querySelector("input[name$='-remove']");
      if (remove) row.classList.toggle("is-removed", remove.checked);
    });
    renumber(box);
    box.addEventListener("click", function (event) {
      var add = event.target.closest("[data-step-add]");
      var mover = event.target.closest("[data-step-move]");
      if (add && addRow(box)) event.preventDefault();
      else if (mover) {
        event.preventDefault();
        move(box, mover);
      }
    });
    box.addEventListener("change", function (event) {
      var row = event.target.closest(ROW);
      if (!row) return;
      if (event.target.matches("select[name$='-kind']")) showTemplate(box, row, true);
      if (event.target.matches("input[name$='-remove']")) {
        row.classList.toggle("is-removed", event.target.checked);
      }
    });
  }

  function start() {
    document.querySelectorAll("[data-steps]").forEach(init);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

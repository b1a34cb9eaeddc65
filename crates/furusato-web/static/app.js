// furusato — small progressive enhancements. Every page works without this script.
(function () {
  "use strict";

  // Bar charts: widths come from data-width (percent); set through CSSOM so the CSP needs no inline styles.
  function bars(root) {
    root.querySelectorAll(".bar[data-width]").forEach(function (el) {
      var w = parseInt(el.getAttribute("data-width"), 10);
      if (!isNaN(w)) el.style.width = Math.max(0, Math.min(100, w)) + "%";
    });
  }

  // Forms that need a confirmation (e.g. destructive actions).
  function confirms(root) {
    root.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        if (!window.confirm(form.getAttribute("data-confirm"))) ev.preventDefault();
      });
    });
  }

  // "Back" links on error pages.
  function backs(root) {
    root.querySelectorAll("a[data-back]").forEach(function (a) {
      a.addEventListener("click", function (ev) {
        if (window.history.length > 1) { ev.preventDefault(); window.history.back(); }
      });
    });
  }

  // Postal-code autofill: <input data-postal-autofill data-pref="#id" data-city="#id" data-town="#id">.
  function postal(root) {
    root.querySelectorAll("input[data-postal-autofill]").forEach(function (input) {
      var status = document.createElement("span");
      status.className = "muted small";
      status.setAttribute("role", "status");
      input.insertAdjacentElement("afterend", status);
      input.addEventListener("change", function () {
        var digits = input.value.replace(/[０-９]/g, function (c) {
          return String.fromCharCode(c.charCodeAt(0) - 0xFEE0);
        }).replace(/[^0-9]/g, "");
        if (digits.length !== 7) { status.textContent = ""; return; }
        fetch("/api/v1/postal/" + digits, { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (d) {
            if (!d) { status.textContent = "郵便番号から住所を見つけられませんでした。住所を入力してください。"; return; }
            [["data-pref", d.prefecture], ["data-city", d.city], ["data-town", d.town]].forEach(function (p) {
              var sel = input.getAttribute(p[0]);
              var el = sel && document.querySelector(sel);
              if (el && !el.value) el.value = p[1] || "";
            });
            status.textContent = "住所を補完しました。番地以降を入力してください。";
          })
          .catch(function () { status.textContent = ""; });
      });
    });
  }

  // Selects that submit their filter form on change: <select data-autosubmit>.
  function autosubmit(root) {
    root.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
      sel.addEventListener("change", function () { if (sel.form) sel.form.submit(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    bars(document); confirms(document); backs(document); postal(document); autosubmit(document);
  });
})();

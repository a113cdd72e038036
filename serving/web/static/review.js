// Reviewer pages: overlay toggles without a reload and keyboard shortcuts. Plain JavaScript, no dependencies;
// every page also works without it (the toggles are links, the decision form is a normal form).
"use strict";

(function () {
  const OVERLAY_KEYS = { "1": "photo", "2": "defects", "3": "anomaly" };

  function typing(target) {
    if (!(target instanceof HTMLElement)) {
      return false;
    }
    if (target.tagName === "INPUT") {
      return !/^(radio|checkbox|button|submit)$/.test(target.type);
    }
    return target.isContentEditable || /^(SELECT|TEXTAREA)$/.test(target.tagName);
  }

  function showOverlay(kind) {
    document.querySelectorAll("img.item-photo").forEach(function (img) {
      const url = img.dataset[kind];
      if (url && img.getAttribute("src") !== url) {
        img.setAttribute("src", url);
      }
      img.dataset.overlay = kind;
    });
    document.querySelectorAll("[data-overlay].toggle-button").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.overlay === kind));
    });
  }

  function setUpOverlayToggle() {
    document.querySelectorAll(".toggle-button[data-overlay]").forEach(function (button) {
      button.setAttribute("role", "button");
      button.addEventListener("click", function (event) {
        event.preventDefault();
        showOverlay(button.dataset.overlay);
      });
      button.addEventListener("keydown", function (event) {
        if (event.key === " ") {
          event.preventDefault();
          showOverlay(button.dataset.overlay);
        }
      });
    });
  }

  function decisionForm() {
    return document.getElementById("decision-form");
  }

  function syncDecisionFields(form) {
    const chosen = form.querySelector("input[name=action]:checked");
    const override = form.querySelector("#override-fields");
    if (override) {
      override.hidden = !(chosen && chosen.value === "override");
    }
    const reason = form.querySelector("#reason_code");
    const comment = form.querySelector("#comment");
    if (reason && comment) {
      comment.setAttribute("aria-required", String(reason.value === "other"));
    }
  }

  function chooseAction(form, radio) {
    radio.checked = true;
    syncDecisionFields(form);
    const next = radio.value === "override" ? form.querySelector("#grade") : form.querySelector("#reason_code");
    if (next) {
      next.focus();
    }
  }

  function setUpDecisionForm(form) {
    form.addEventListener("change", function () {
      syncDecisionFields(form);
    });
    syncDecisionFields(form);
    const errors = document.getElementById("form-errors");
    if (errors) {
      errors.focus();
    }
  }

  function onKey(event) {
    const form = decisionForm();
    if (form && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
      return;
    }
    if (event.key === "Escape" && typing(event.target)) {
      event.target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      return;
    }
    if (OVERLAY_KEYS[event.key] && document.querySelector("img.item-photo")) {
      event.preventDefault();
      showOverlay(OVERLAY_KEYS[event.key]);
      return;
    }
    const key = event.key.toLowerCase();
    const radio = form && /^[a-z]$/.test(key) && form.querySelector('input[name=action][data-key="' + key + '"]');
    if (radio) {
      event.preventDefault();
      chooseAction(form, radio);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpOverlayToggle();
    const form = decisionForm();
    if (form) {
      setUpDecisionForm(form);
    }
    document.addEventListener("keydown", onKey);
  });
})();

// Reviewer pages: overlay toggles without a reload, boxes drawn for missed defects, and keyboard shortcuts. Plain JavaScript, no dependencies;
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

  // --- Boxing a defect the model missed: drag on a photo; the box goes into a missed-defect row of the form ---

  const MIN_BOX_PX = 6; // a smaller drag on screen is a click, not a box
  const FIELD_LABELS = { photo: "Photo", type: "Type", box: "Box" };

  function missedList() {
    return document.getElementById("missed-defects");
  }

  function missedRows() {
    return Array.from(document.querySelectorAll("#missed-defects .missed-row"));
  }

  function rowField(row, kind) {
    return row.querySelector("[name^=missed_" + kind + "_]");
  }

  function parsedBox(text) {
    const values = text.split(",").map(function (part) { return Number(part.trim()); });
    const ordered = values.length === 4 && values.every(Number.isFinite) && values[2] > values[0] && values[3] > values[1];
    return ordered ? values : null;
  }

  function photoImage(photoId) {
    return document.querySelector('img.item-photo[data-photo-id="' + photoId + '"]');
  }

  function pixelsPerScreenPixel(img) {
    return Number(img.getAttribute("width")) / img.clientWidth;
  }

  function placeBox(element, img, box) {
    const scale = 1 / pixelsPerScreenPixel(img);
    element.style.left = img.offsetLeft + box[0] * scale + "px";
    element.style.top = img.offsetTop + box[1] * scale + "px";
    element.style.width = (box[2] - box[0]) * scale + "px";
    element.style.height = (box[3] - box[1]) * scale + "px";
  }

  function renderMissedBoxes() {
    document.querySelectorAll(".missed-box").forEach(function (element) { element.remove(); });
    missedRows().forEach(function (row, position) {
      row.querySelector(".missed-number").textContent = "Missed " + (position + 1);
      ["photo", "type", "box"].forEach(function (kind) {
        rowField(row, kind).setAttribute("aria-label", FIELD_LABELS[kind] + " of missed defect " + (position + 1));
      });
      const box = parsedBox(rowField(row, "box").value);
      const img = photoImage(rowField(row, "photo").value);
      if (!box || !img || !img.clientWidth) {
        return;
      }
      const element = document.createElement("div");
      element.className = "missed-box";
      element.dataset.label = String(position + 1) + (rowField(row, "type").value ? " " + rowField(row, "type").value : "");
      placeBox(element, img, box);
      img.parentElement.appendChild(element);
    });
  }

  function renumber(row, index) {
    row.dataset.index = String(index);
    ["photo", "type", "box"].forEach(function (kind) {
      const field = rowField(row, kind);
      field.name = "missed_" + kind + "_" + index;
      field.value = kind === "photo" ? field.value : "";
    });
  }

  function blankRow() {
    const rows = missedRows();
    const last = rows[rows.length - 1];
    if (!rowField(last, "box").value && !rowField(last, "type").value) {
      return last;
    }
    const fresh = last.cloneNode(true);
    renumber(fresh, Math.max.apply(null, rows.map(function (row) { return Number(row.dataset.index); })) + 1);
    setUpMissedRow(fresh);
    missedList().appendChild(fresh);
    return fresh;
  }

  function recordBox(img, box) {
    const row = blankRow();
    rowField(row, "photo").value = img.dataset.photoId;
    rowField(row, "box").value = box.map(Math.round).join(", ");
    const record = document.getElementById("defects_checked");
    if (record) {
      record.checked = true; // a missed defect is only recorded with the reviewer's whole view of the defects
    }
    blankRow();
    renderMissedBoxes();
    rowField(row, "type").focus();
  }

  function setUpMissedRow(row) {
    const remove = row.querySelector(".remove-missed");
    remove.hidden = false;
    remove.onclick = function () {
      if (missedRows().length > 1) {
        row.remove();
      } else {
        renumber(row, Number(row.dataset.index));
      }
      blankRow();
      renderMissedBoxes();
    };
    row.oninput = renderMissedBoxes;
    row.onchange = renderMissedBoxes;
  }

  function drawOn(img) {
    let start = null;
    let sketch = null;
    function point(event) {
      const rect = img.getBoundingClientRect();
      const x = Math.min(Math.max(event.clientX - rect.left, 0), rect.width);
      const y = Math.min(Math.max(event.clientY - rect.top, 0), rect.height);
      return [x, y];
    }
    function screenBox(end) {
      return [Math.min(start[0], end[0]), Math.min(start[1], end[1]), Math.max(start[0], end[0]), Math.max(start[1], end[1])];
    }
    img.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) {
        return;
      }
      event.preventDefault();
      img.setPointerCapture(event.pointerId);
      start = point(event);
      sketch = document.createElement("div");
      sketch.className = "missed-box drawing";
      img.parentElement.appendChild(sketch);
    });
    img.addEventListener("pointermove", function (event) {
      if (start) {
        const scale = pixelsPerScreenPixel(img);
        placeBox(sketch, img, screenBox(point(event)).map(function (value) { return value * scale; }));
      }
    });
    img.addEventListener("pointerup", function (event) {
      if (!start) {
        return;
      }
      const box = screenBox(point(event));
      start = null;
      sketch.remove();
      if (box[2] - box[0] >= MIN_BOX_PX && box[3] - box[1] >= MIN_BOX_PX) {
        const scale = pixelsPerScreenPixel(img);
        recordBox(img, box.map(function (value) { return value * scale; }));
      }
    });
  }

  function setUpBoxDrawing() {
    if (!missedList()) {
      return;
    }
    missedRows().forEach(setUpMissedRow);
    document.querySelectorAll('img.item-photo[data-graded="true"]').forEach(function (img) {
      img.classList.add("drawable");
      drawOn(img);
      img.addEventListener("load", renderMissedBoxes);
    });
    window.addEventListener("resize", renderMissedBoxes);
    renderMissedBoxes();
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
    setUpBoxDrawing();
    const form = decisionForm();
    if (form) {
      setUpDecisionForm(form);
    }
    document.addEventListener("keydown", onKey);
  });
})();

// Herald's own page behaviour: no framework. Every page works without it; this adds the live parts.
(function () {
  "use strict";

  var csrfToken = function () {
    var field = document.querySelector('input[name="csrf_token"]');
    return field ? field.value : "";
  };
  var numberFormat = new Intl.NumberFormat(document.documentElement.lang || undefined);

  // A select with data-autosubmit submits its form when changed (language switch, list filter).
  document.querySelectorAll("[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // A form with data-confirm asks first (Send now, new API token).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });

  // A button with data-print prints the page (our CSP forbids inline onclick handlers).
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  // A table wider than its box scrolls sideways; the box then takes keyboard focus, so the arrow keys can
  // scroll it (WCAG 2.1.1). Checked again when the window changes size.
  var focusableWhenScrolling = function () {
    document.querySelectorAll(".table-wrap:not([data-always-focusable])").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth) { box.setAttribute("tabindex", "0"); }
      else { box.removeAttribute("tabindex"); }
    });
  };
  focusableWhenScrolling();
  window.addEventListener("resize", focusableWhenScrolling);

  // A field with a save error on a given line: put the cursor on that line.
  var errorField = document.querySelector("textarea[data-error-line]");
  if (errorField) {
    var line = parseInt(errorField.getAttribute("data-error-line"), 10);
    var lines = errorField.value.split("\n");
    var start = lines.slice(0, line - 1).join("\n").length + (line > 1 ? 1 : 0);
    var end = start + (lines[line - 1] || "").length;
    errorField.focus();
    errorField.setSelectionRange(start, end);
  }

  // ------------------------------------------------------------------ template editor preview
  var editor = document.getElementById("template-editor");
  if (editor) {
    var channel = editor.getAttribute("data-channel");
    var contactSelect = document.getElementById("preview-contact");
    var errorBox = document.getElementById("preview-error");
    var lastFocused = null;
    var timer = null;
    var sequence = 0;

    var collect = function () {
      var data = { channel: channel, contact_id: contactSelect ? contactSelect.value : "" };
      editor.querySelectorAll("[data-part]").forEach(function (field) { data[field.name] = field.value; });
      return data;
    };

    // The pre-send checks next to the preview: errors first, each with its level; an SMS whose quotes or
    // dashes force UCS-2 offers to replace them in the text (the replacements come with the finding).
    var checksList = document.getElementById("preview-checks");
    var gsmFix = document.getElementById("gsm7-fix");
    var replacements = null;
    var showChecks = function (preview) {
      if (!checksList) { return; }
      checksList.textContent = "";
      var findings = preview.checks || [];
      replacements = null;
      findings.forEach(function (finding) {
        var item = document.createElement("li");
        item.className = "check check-" + finding.level;
        item.setAttribute("data-check-code", finding.code);
        var badge = document.createElement("span");
        badge.className = "badge " + (finding.level === "error" ? "failed" : finding.level === "warning" ? "warning" : "");
        badge.textContent = (preview.level_labels || {})[finding.level] || finding.level;
        item.appendChild(badge);
        item.appendChild(document.createTextNode(" " + finding.text));
        checksList.appendChild(item);
        if (finding.code === "gsm7_forced_ucs2") { replacements = finding.values.replacements; }
      });
      if (!findings.length) {
        var pass = document.createElement("li");
        pass.className = "check check-pass";
        pass.setAttribute("data-check-code", "pass");
        pass.textContent = checksList.getAttribute("data-pass-text");
        checksList.appendChild(pass);
      }
      if (gsmFix) { gsmFix.hidden = !replacements; }
    };
    if (gsmFix) {
      gsmFix.addEventListener("click", function () {
        var body = editor.querySelector('[data-part="body"]');
        if (!body || !replacements) { return; }
        body.value = Array.prototype.map.call(body.value, function (ch) {
          return Object.prototype.hasOwnProperty.call(replacements, ch) ? replacements[ch] : ch;
        }).join("");
        body.focus();
        later();
      });
    }

    var show = function (preview) {
      showChecks(preview);
      if (channel === "sms") {
        document.getElementById("preview-body").textContent = preview.body;
        var sms = preview.sms || { characters: 0, encoding: "GSM-7", segments: 0, remaining: 160 };
        Object.keys(sms).forEach(function (key) {
          var cell = document.querySelector('[data-sms="' + key + '"]');
          if (cell) { cell.textContent = typeof sms[key] === "number" ? numberFormat.format(sms[key]) : sms[key]; }
        });
      } else {
        document.getElementById("preview-subject").textContent = preview.subject;
        document.getElementById("preview-html").srcdoc = preview.html;
        document.getElementById("preview-text").textContent = preview.text;
      }
    };

    var refresh = function () {
      var mine = ++sequence;
      fetch(editor.getAttribute("data-preview-url"), {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), "Accept": "application/json" },
        body: JSON.stringify(collect()),
        credentials: "same-origin"
      }).then(function (response) { return response.json(); }).then(function (answer) {
        if (mine !== sequence) { return; } // a newer keystroke's answer wins
        if (answer.ok) {
          errorBox.hidden = true;
          show(answer.preview);
        } else {
          errorBox.hidden = false;
          errorBox.textContent = answer.error.message || String(answer.error);
        }
      }).catch(function () { /* offline for a moment: the next keystroke tries again */ });
    };

    var later = function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 300);
    };

    editor.addEventListener("input", later);
    editor.addEventListener("focusin", function (event) {
      if (event.target.matches("[data-part]")) { lastFocused = event.target; }
    });
    if (contactSelect) { contactSelect.addEventListener("change", refresh); }

    // Clicking a variable inserts it where the cursor was.
    editor.querySelectorAll("[data-insert]").forEach(function (button) {
      button.addEventListener("click", function () {
        var field = lastFocused || editor.querySelector("[data-part]");
        if (!field || field.readOnly) { return; }
        var text = button.getAttribute("data-insert");
        var at = field.selectionStart || field.value.length;
        field.value = field.value.slice(0, at) + text + field.value.slice(field.selectionEnd || at);
        field.focus();
        field.setSelectionRange(at + text.length, at + text.length);
        later();
      });
    });
    refresh();
  }

  // ------------------------------------------------------------------ campaign form: templates of the channel
  var campaignForm = document.getElementById("campaign-form");
  if (campaignForm) {
    var templateSelect = campaignForm.querySelector('select[name="template_id"]');
    var filterTemplates = function () {
      var checked = campaignForm.querySelector("[data-channel-choice]:checked");
      var wanted = checked ? checked.value : "";
      Array.prototype.forEach.call(templateSelect.options, function (option) {
        var fits = !option.value || option.getAttribute("data-channel") === wanted;
        option.hidden = !fits;
        option.disabled = !fits;
        if (!fits && option.selected) { templateSelect.value = ""; }
      });
      // Fields for one channel only (the email sender) show with that channel.
      campaignForm.querySelectorAll("[data-only-channel]").forEach(function (row) {
        row.hidden = row.getAttribute("data-only-channel") !== wanted;
      });
      // An event notice's fallback goes by the other channel: only its templates are offered.
      var fallbackSelect = campaignForm.querySelector('select[name="fallback_template_id"]');
      if (fallbackSelect) {
        Array.prototype.forEach.call(fallbackSelect.options, function (option) {
          var fits = !option.value || option.getAttribute("data-channel") !== wanted;
          option.hidden = !fits;
          option.disabled = !fits;
          if (!fits && option.selected) { fallbackSelect.value = ""; }
        });
      }
      // Fields for one kind only (the notice's fallback) show with that kind.
      var kind = campaignForm.querySelector('input[name="kind"]:checked');
      campaignForm.querySelectorAll("[data-only-kind]").forEach(function (row) {
        row.hidden = !kind || row.getAttribute("data-only-kind") !== kind.value;
      });
    };
    campaignForm.querySelectorAll('[data-channel-choice], input[name="kind"]').forEach(function (radio) {
      radio.addEventListener("change", filterTemplates);
    });
    filterTemplates();
  }

  // ------------------------------------------------------------------ campaign progress, every second
  var progress = document.getElementById("campaign-progress");
  if (progress) {
    var labels = JSON.parse(document.getElementById("status-labels").textContent);
    var badge = document.querySelector("#campaign-status-badge .badge");
    var poll = function () {
      fetch(progress.getAttribute("data-status-url"), { headers: { "Accept": "application/json" },
                                                          credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (status) {
          var counts = status.counts;
          var total = status.total || 0;
          Object.keys(counts).forEach(function (key) {
            var cell = progress.querySelector('[data-count="' + key + '"]');
            if (cell) { cell.textContent = numberFormat.format(counts[key]); }
            var bar = progress.querySelector('[data-bar="' + key + '"]');
            if (bar) { bar.style.width = (total ? counts[key] * 100 / total : 0) + "%"; }
          });
          var busy = (counts.pending || 0) + (counts.sending || 0);
          progress.querySelector('[data-progress="done"]').textContent = numberFormat.format(total - busy);
          progress.querySelector('[data-progress="total"]').textContent = numberFormat.format(total);
          var starts = document.getElementById("sending-starts");
          if (starts) {
            starts.textContent = status.starts || "";
            starts.hidden = !status.starts;
          }
          if (badge) {
            badge.className = "badge " + status.status;
            badge.textContent = labels[status.status] || status.status;
          }
          // Keep polling while anything can still change; delivery receipts keep coming after sending ends.
          window.setTimeout(poll, busy || status.status === "running" ? 1000 : 5000);
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    };
    window.setTimeout(poll, 1000);
  }
})();

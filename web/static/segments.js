// The segment rule editor: an AND/OR tree of conditions and nested groups, edited in place, with the live
// count, a sample and each top-level rule's effect fetched as the rules change. Herald's own code; the
// rule JSON it builds is the one /api/v1/segments takes, and the server checks it (naming a bad rule).
(function () {
  "use strict";

  var builder = document.getElementById("segment-builder");
  if (!builder) { return; }
  var form = document.getElementById("segment-form");
  var rulesField = document.getElementById("segment-rules");
  var catalogue = JSON.parse(document.getElementById("segment-catalogue").textContent);
  var labels = {};
  Object.keys(builder.dataset).forEach(function (key) {
    if (key.indexOf("label") === 0) { labels[key.slice(5, 6).toLowerCase() + key.slice(6)] = builder.dataset[key]; }
  });
  var numberFormat = new Intl.NumberFormat(document.documentElement.lang || undefined);
  var fields = {};
  catalogue.groups.forEach(function (group) { group[1].forEach(function (f) { fields[f.key] = f; }); });

  var tree;
  try { tree = JSON.parse(rulesField.value); } catch (e) { tree = null; }
  if (!tree || typeof tree !== "object" || (!tree.all && !tree.any)) { tree = { all: [] }; }

  // ------------------------------------------------------------------ small helpers
  var el = function (tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") { node.textContent = attrs[name]; } else { node.setAttribute(name, attrs[name]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  };
  var kindOf = function (node) { return Object.prototype.hasOwnProperty.call(node, "any") ? "any" : "all"; };
  var isGroup = function (node) {
    return node && typeof node === "object" && !node.field && (Array.isArray(node.all) || Array.isArray(node.any));
  };
  var today = function (offset) {
    var d = new Date(Date.now() + (offset || 0) * 86400000);
    return d.toISOString().slice(0, 10);
  };
  var splitList = function (text) {
    return text.split(/[,，、;；]/).map(function (s) { return s.trim(); }).filter(Boolean);
  };
  var asNumber = function (text) { var n = Number(text); return text === "" || isNaN(n) ? text : n; };

  var fieldFor = function (key, rule) {
    if (fields[key]) { return fields[key]; }
    // A field the catalogue does not offer (an undefined custom attribute, a rule made through the API):
    // keep it editable as text with the operator it has.
    var ops = {};
    ops[rule.op] = rule.value === undefined ? "none" : Array.isArray(rule.value) ? "texts" : "text";
    fields[key] = { key: key, label: key, ops: ops };
    return fields[key];
  };

  var defaultValue = function (widget, field) {
    var first = field.choices && field.choices.length ? field.choices[0][0] : "";
    var pick = function (v) { return field.numeric ? Number(v) : v; };
    switch (widget) {
      case "none": return undefined;
      case "texts": case "tags": return [];
      case "number": return 0;
      case "days": return 7;
      case "range": return [1, 5];
      case "date": return today();
      case "dates": return [today(-365), today()];
      case "choice": return pick(first);
      case "choices": return first === "" ? [] : [pick(first)];
      case "bool": return true;
      case "days_campaign": case "days_product": return { days: 30 };
      case "days_amount": return { days: 30, amount: 100 };
      default: return "";
    }
  };

  var setValue = function (rule, value) {
    if (value === undefined) { delete rule.value; } else { rule.value = value; }
  };

  // ------------------------------------------------------------------ the values contacts have
  // A rule "region is 上海" misses the contacts typed 上海市. Fields marked `values` offer what contacts hold
  // (a datalist, with counts) and say when a similar spelling exists that the rule would not match.
  var valuesUrl = builder.getAttribute("data-values-url");
  var known = {};
  var listCount = 0;
  var knownValues = function (key) {
    if (!known[key]) {
      known[key] = fetch(valuesUrl + "?field=" + encodeURIComponent(key),
        { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (answer) { return answer.ok ? answer.values : []; })
        .catch(function () { return []; });
    }
    return known[key];
  };
  var similarTo = function (chosen, values) {
    var words = chosen.filter(function (v) { return typeof v === "string" && v.trim().length >= 2; })
      .map(function (v) { return v.trim().toLowerCase(); });
    return values.filter(function (item) {
      var value = item.value.toLowerCase();
      return chosen.indexOf(item.value) < 0 && words.some(function (word) {
        return value !== word && (value.indexOf(word) >= 0 || word.indexOf(value) >= 0);
      });
    }).slice(0, 5);
  };
  var offerValues = function (node, rule, field, withList) {
    var hint = el("span", { class: "segment-hint small", "aria-live": "polite" });
    hint.hidden = true;
    var parts = [node];
    if (withList) {
      var datalist = el("datalist", { id: "segment-values-" + (++listCount) });
      node.setAttribute("list", datalist.id);
      parts.push(datalist);
    }
    parts.push(hint);
    var values = [];
    var showSimilar = function () {
      var exact = ["eq", "neq", "in", "not_in"].indexOf(rule.op) >= 0;
      var similar = exact ? similarTo(Array.isArray(rule.value) ? rule.value : [rule.value], values) : [];
      hint.textContent = similar.length ? labels.similar.replace("{values}", similar.map(function (item) {
        return "“" + item.value + "” (" + numberFormat.format(item.contacts) + ")";
      }).join(", ")) : "";
      hint.hidden = !similar.length;
    };
    knownValues(field.key).then(function (found) {
      values = found;
      if (withList) {
        found.forEach(function (item) {
          datalist.appendChild(el("option", { value: item.value,
            label: labels.contacts.replace("{n}", numberFormat.format(item.contacts)) }));
        });
      }
      showSimilar();
    });
    node.addEventListener("input", showSimilar);
    return parts;
  };

  // ------------------------------------------------------------------ value widgets
  // Every control has a name a screen reader says (the row has no visible <label>): the value widgets are
  // "Value" unless the caller names them better (From / To of a range, the days, the amount).
  var input = function (type, value, onChange, attrs) {
    var node = el("input", Object.assign({ type: type, class: "segment-value", "aria-label": labels.value },
                                         attrs || {}));
    node.value = value === undefined || value === null ? "" : value;
    node.addEventListener("input", function () { onChange(node.value); changed(); });
    return node;
  };

  var choiceSelect = function (field, value, multiple, onChange) {
    var node = el("select", { class: "segment-value", "aria-label": labels.value });
    if (multiple) { node.multiple = true; node.size = Math.min(4, Math.max(2, field.choices.length)); }
    var chosen = (Array.isArray(value) ? value : [value]).map(String);
    field.choices.forEach(function (choice) {
      var option = el("option", { value: choice[0], text: choice[1] });
      option.selected = chosen.indexOf(String(choice[0])) >= 0;
      node.appendChild(option);
    });
    node.addEventListener("change", function () {
      var values = Array.prototype.filter.call(node.options, function (o) { return o.selected; })
        .map(function (o) { return field.numeric ? Number(o.value) : o.value; });
      onChange(multiple ? values : values[0]);
      changed();
    });
    return node;
  };

  var objectWidget = function (rule, extraKey, extra) {
    var value = rule.value && typeof rule.value === "object" && !Array.isArray(rule.value) ? rule.value : { days: 30 };
    rule.value = value;
    var days = input("number", value.days, function (v) { value.days = asNumber(v); },
                     { min: "0", title: labels.days, "aria-label": labels.days });
    var parts = [days, el("span", { class: "muted", text: labels.days })];
    if (extraKey) { parts.push(extra(value)); }
    return parts;
  };

  var valueWidget = function (rule, field) {
    var widget = field.ops[rule.op];
    var update = function (v) { rule.value = v; };
    switch (widget) {
      case "none": return [];
      case "text": {
        var single = input("text", rule.value, update);
        return field.values ? offerValues(single, rule, field, true) : [single];
      }
      case "texts": case "tags": {
        var list = Array.isArray(rule.value) ? rule.value.join(", ") : rule.value || "";
        var attrs = { placeholder: widget === "tags" ? labels.tagsHint : labels.valuesHint };
        var node = input("text", list, function (v) { rule.value = splitList(v); }, attrs);
        if (widget === "tags" && field.suggestions && field.suggestions.length) {
          node.setAttribute("title", field.suggestions.join(", "));
        }
        // A datalist would replace the whole comma-separated list with one value: only the hint here.
        return widget === "texts" && field.values ? offerValues(node, rule, field, false) : [node];
      }
      case "number": return [input("number", rule.value, function (v) { rule.value = asNumber(v); })];
      case "days": return [input("number", rule.value, function (v) { rule.value = asNumber(v); },
                                 { min: "0", "aria-label": labels.days }),
        el("span", { class: "muted", text: labels.days })];
      case "date": return [input("date", rule.value, update)];
      case "range": case "dates": {
        var pair = Array.isArray(rule.value) ? rule.value : defaultValue(widget, field);
        rule.value = pair;
        var type = widget === "range" ? "number" : "date";
        var convert = widget === "range" ? asNumber : function (v) { return v; };
        return [input(type, pair[0], function (v) { pair[0] = convert(v); }, { "aria-label": labels.from }),
          el("span", { class: "muted", text: labels.and }),
          input(type, pair[1], function (v) { pair[1] = convert(v); }, { "aria-label": labels.to })];
      }
      case "choice": return [choiceSelect(field, rule.value, false, update)];
      case "choices": return [choiceSelect(field, rule.value, true, update)];
      case "bool": {
        var node = el("select", { class: "segment-value", "aria-label": labels.value }, [el("option", { value: "true", text: labels.yes }),
          el("option", { value: "false", text: labels.no })]);
        node.value = rule.value === false ? "false" : "true";
        node.addEventListener("change", function () { rule.value = node.value === "true"; changed(); });
        return [node];
      }
      case "days_campaign": return objectWidget(rule, "campaign_id", function (value) {
        var choices = [["", labels.anyCampaign]].concat(field.campaigns || []);
        var select = choiceSelect({ choices: choices }, value.campaign_id === undefined ? "" : value.campaign_id, false,
          function (v) { if (v === "") { delete value.campaign_id; } else { value.campaign_id = Number(v); } });
        return select;
      });
      case "days_product": return objectWidget(rule, "product", function (value) {
        return input("text", value.product, function (v) {
          if (v.trim()) { value.product = v.trim(); } else { delete value.product; }
        }, { placeholder: labels.product, "aria-label": labels.product });
      });
      case "days_amount": return objectWidget(rule, "amount", function (value) {
        return input("number", value.amount, function (v) { value.amount = asNumber(v); },
          { placeholder: labels.amount, title: labels.amount, "aria-label": labels.amount });
      });
      default: return [input("text", rule.value, update)];
    }
  };

  // ------------------------------------------------------------------ conditions and groups
  var fieldSelect = function (rule) {
    var select = el("select", { class: "segment-field", "aria-label": labels.field });
    catalogue.groups.forEach(function (group) {
      var optgroup = el("optgroup", { label: group[0] });
      group[1].forEach(function (f) { optgroup.appendChild(el("option", { value: f.key, text: f.label })); });
      select.appendChild(optgroup);
    });
    if (!fields[rule.field] || !select.querySelector('option[value="' + CSS.escape(rule.field) + '"]')) {
      select.appendChild(el("option", { value: rule.field, text: fieldFor(rule.field, rule).label }));
    }
    select.value = rule.field;
    select.addEventListener("change", function () {
      var field = fields[select.value];
      rule.field = field.key;
      rule.op = Object.keys(field.ops)[0];
      setValue(rule, defaultValue(field.ops[rule.op], field));
      render();
      changed();
    });
    return select;
  };

  var opSelect = function (rule, field) {
    var select = el("select", { class: "segment-op", "aria-label": labels.comparison });
    Object.keys(field.ops).forEach(function (op) {
      select.appendChild(el("option", { value: op, text: catalogue.operators[op] || op }));
    });
    select.value = rule.op;
    select.addEventListener("change", function () {
      var before = field.ops[rule.op];
      rule.op = select.value;
      if (field.ops[rule.op] !== before) { setValue(rule, defaultValue(field.ops[rule.op], field)); }
      render();
      changed();
    });
    return select;
  };

  var removeButton = function (list, index) {
    var button = el("button", { type: "button", class: "btn btn-sm segment-remove", title: labels.remove,
                                "aria-label": labels.remove, text: "×" });
    button.addEventListener("click", function () { list.splice(index, 1); render(); changed(); });
    return button;
  };

  var conditionRow = function (rule, list, index, path) {
    var field = fieldFor(rule.field, rule);
    if (!field.ops[rule.op]) { rule.op = Object.keys(field.ops)[0]; setValue(rule, defaultValue(field.ops[rule.op], field)); }
    var row = el("div", { class: "segment-condition", "data-path": path },
      [fieldSelect(rule), opSelect(rule, field)].concat(valueWidget(rule, field)));
    row.appendChild(el("span", { class: "segment-effect", "data-effect": path }));
    row.appendChild(removeButton(list, index));
    return row;
  };

  var groupBox = function (group, path, parentList, index) {
    var kind = kindOf(group);
    var items = group[kind];
    var box = el("div", { class: "segment-group", "data-path": path });
    var head = el("div", { class: "segment-group-head" });
    var toggle = el("select", { class: "segment-kind", "aria-label": labels.combine }, [el("option", { value: "all", text: labels.all }),
      el("option", { value: "any", text: labels.any })]);
    toggle.value = kind;
    toggle.addEventListener("change", function () {
      var other = toggle.value;
      if (other !== kind) { group[other] = group[kind]; delete group[kind]; render(); changed(); }
    });
    head.appendChild(toggle);
    if (parentList) {
      head.appendChild(el("span", { class: "segment-effect", "data-effect": path }));
      head.appendChild(removeButton(parentList, index));
    }
    box.appendChild(head);
    var body = el("div", { class: "segment-items" });
    if (!items.length) { body.appendChild(el("p", { class: "small muted", text: labels.emptyGroup })); }
    items.forEach(function (item, i) {
      var childPath = path + "." + kind + "[" + i + "]";
      body.appendChild(isGroup(item) ? groupBox(item, childPath, items, i) : conditionRow(item, items, i, childPath));
    });
    box.appendChild(body);
    var addCondition = el("button", { type: "button", class: "btn btn-sm", "data-add": "condition",
                                      text: "+ " + labels.addCondition });
    addCondition.addEventListener("click", function () {
      var field = fields.value_tier || catalogue.groups[0][1][0];
      var op = Object.keys(field.ops)[0];
      var rule = { field: field.key, op: op };
      setValue(rule, defaultValue(field.ops[op], field));
      items.push(rule);
      render();
      changed();
    });
    var addGroup = el("button", { type: "button", class: "btn btn-sm", "data-add": "group", text: "+ " + labels.addGroup });
    addGroup.addEventListener("click", function () { items.push({ any: [] }); render(); changed(); });
    box.appendChild(el("div", { class: "segment-actions" }, [addCondition, addGroup]));
    return box;
  };

  var render = function () {
    builder.querySelectorAll(".segment-group").forEach(function (node) { node.remove(); });
    builder.appendChild(groupBox(tree, "rules", null, 0));
    rulesField.value = JSON.stringify(tree);
  };

  // ------------------------------------------------------------------ the live count
  var countCell = document.querySelector('[data-segment="count"]');
  var errorBox = document.getElementById("segment-error");
  var sampleBody = document.querySelector("#segment-sample tbody");
  var sampleNote = document.getElementById("segment-sample-note");
  var sampleTable = document.getElementById("segment-sample");
  var sampleEmpty = document.getElementById("segment-sample-empty");
  var timer = null;
  var sequence = 0;

  var showEffects = function (explain) {
    builder.querySelectorAll("[data-effect]").forEach(function (node) { node.textContent = ""; node.className = "segment-effect"; });
    (explain || []).forEach(function (effect) {
      var node = builder.querySelector('[data-effect="' + CSS.escape(effect.path) + '"]');
      if (!node) { return; }
      var n = numberFormat.format(effect.excluded);
      node.textContent = effect.excluded > 0 ? labels.excluded.replace("{n}", n)
        : labels.keeps.replace("{n}", numberFormat.format(effect.count_alone));
      if (effect.excluded > 0) { node.className = "segment-effect excludes"; }
    });
  };

  var showSample = function (sample) {
    sampleBody.textContent = "";
    sample.forEach(function (contact) {
      var link = el("a", { href: contact.url, text: contact.name || contact.email || contact.phone });
      sampleBody.appendChild(el("tr", {}, [el("td", {}, [link]), el("td", { text: contact.email }),
        el("td", { text: contact.phone })]));
    });
    sampleNote.hidden = !sample.length;
    // No match: say so instead of showing the table's bare header.
    sampleTable.hidden = !sample.length;
    sampleEmpty.hidden = sample.length > 0;
  };

  var refresh = function () {
    var mine = ++sequence;
    builder.querySelectorAll(".has-rule-error").forEach(function (node) { node.classList.remove("has-rule-error"); });
    fetch(builder.getAttribute("data-preview-url"), {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRFToken": (form.querySelector('input[name="csrf_token"]') || {}).value || "" },
      body: JSON.stringify({ rules: tree }),
      credentials: "same-origin"
    }).then(function (response) { return response.json(); }).then(function (answer) {
      if (mine !== sequence) { return; } // a newer change's answer wins
      if (!answer.ok) {
        countCell.textContent = "—";
        showSample([]);
        sampleEmpty.hidden = true; // the error says what is wrong; "no match" would mislead
        showEffects([]);
        errorBox.hidden = false;
        errorBox.textContent = answer.error.message;
        var at = answer.error.path.replace(/\.(field|op|value)$/, "");
        var node = builder.querySelector('[data-path="' + CSS.escape(at) + '"]');
        if (node) { node.classList.add("has-rule-error"); }
        return;
      }
      errorBox.hidden = true;
      countCell.textContent = numberFormat.format(answer.count);
      showSample(answer.sample);
      showEffects(answer.explain);
    }).catch(function () { if (mine === sequence) { countCell.textContent = "—"; } });
  };

  var changed = function () {
    rulesField.value = JSON.stringify(tree);
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 300);
  };

  form.addEventListener("submit", function () { rulesField.value = JSON.stringify(tree); });
  render();
  refresh();
})();

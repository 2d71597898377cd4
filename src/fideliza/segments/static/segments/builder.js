/* Segment rule builder: rows of (field, condition, value, "no") kept as JSON in #id_rules.
   No framework; htmx posts the JSON for the live count whenever it changes. */
(function () {
  "use strict";
  const fields = JSON.parse(document.getElementById("segment-fields").textContent);
  const labels = JSON.parse(document.getElementById("segment-labels").textContent);
  const byKey = Object.fromEntries(fields.map((f) => [f.key, f]));
  const hidden = document.getElementById("id_rules");
  const list = document.getElementById("rules-list");
  const opSelect = document.getElementById("rules-op");
  let state = {};
  try { state = JSON.parse(hidden.value || "{}"); } catch (e) { state = {}; }
  if (!state.rules) state = { op: "and", rules: state.field ? [state] : [] };
  opSelect.value = state.op || "and";
  let counter = 0;

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => { if (v !== undefined && v !== null) node.setAttribute(k, v); });
    (children || []).forEach((c) => node.append(c));
    return node;
  }

  function fieldSelect(rule, id) {
    const select = el("select", { id: id, "aria-label": labels.field, class: "rule-field" });
    ["card", "analytics", "behaviour"].forEach((group) => {
      const og = el("optgroup", { label: labels[group] });
      fields.filter((f) => f.group === group).forEach((f) => {
        const o = el("option", { value: f.key }, [f.label]);
        if (f.key === rule.field) o.selected = true;
        og.append(o);
      });
      select.append(og);
    });
    return select;
  }

  function valueInput(def, rule, id) {
    const multi = rule.cmp === "in" || rule.cmp === "not_in" || rule.cmp === "between";
    if (def.choices) {
      const select = el("select", { id: id, "aria-label": labels.value, class: "rule-value" });
      if (multi && rule.cmp !== "between") select.multiple = true;
      const chosen = [].concat(rule.value === undefined ? [] : rule.value).map(String);
      def.choices.forEach(([v, text]) => {
        const o = el("option", { value: v }, [text]);
        if (chosen.includes(String(v))) o.selected = true;
        select.append(o);
      });
      return select;
    }
    if (rule.cmp === "empty" || rule.cmp === "not_empty") return el("span", { class: "rule-value" });
    const type = def.kind === "date" ? "date" : (["number", "money", "days"].includes(def.kind) && !multi ? "number" : "text");
    const value = Array.isArray(rule.value) ? rule.value.join(", ") : (rule.value ?? "");
    const input = el("input", { id: id, type: type, "aria-label": labels.value, class: "rule-value", value: value, step: "any" });
    if (rule.cmp === "between") input.placeholder = def.kind === "date" ? "2025-01-01, 2025-06-30" : "10, 20";
    return input;
  }

  function readValue(node, def, cmp) {
    if (node.tagName === "SELECT" && node.multiple) return Array.from(node.selectedOptions).map((o) => o.value);
    if (!("value" in node)) return null;
    const raw = node.value;
    if (cmp === "in" || cmp === "not_in" || cmp === "between") return raw.split(",").map((s) => s.trim()).filter(Boolean);
    if (["number", "money", "days"].includes(def.kind) && raw !== "") return Number(raw);
    return raw;
  }

  function render() {
    list.replaceChildren();
    state.rules.forEach((rule, index) => {
      const def = byKey[rule.field] || fields[0];
      rule.field = def.key;
      if (!def.ops.some(([op]) => op === rule.cmp)) rule.cmp = def.ops[0][0];
      const n = ++counter;
      const f = fieldSelect(rule, `rule-${n}-field`);
      const op = el("select", { id: `rule-${n}-op`, "aria-label": labels.op, class: "rule-op" });
      def.ops.forEach(([value, text]) => { const o = el("option", { value: value }, [text]); if (value === rule.cmp) o.selected = true; op.append(o); });
      const val = valueInput(def, rule, `rule-${n}-value`);
      const neg = el("input", { type: "checkbox", id: `rule-${n}-not`, class: "rule-not" });
      neg.checked = !!rule.negate;
      const negLabel = el("label", { for: `rule-${n}-not` }, [neg, " " + labels.not]);
      const remove = el("button", { type: "button", class: "link-button" }, [labels.remove]);
      f.addEventListener("change", () => { rule.field = f.value; rule.cmp = byKey[f.value].ops[0][0]; rule.value = undefined; render(); sync(); });
      op.addEventListener("change", () => { rule.cmp = op.value; render(); sync(); });
      const onValue = () => { rule.value = readValue(val, def, rule.cmp); sync(); };
      val.addEventListener("change", onValue);
      val.addEventListener("input", onValue);
      neg.addEventListener("change", () => { rule.negate = neg.checked; sync(); });
      remove.addEventListener("click", () => { state.rules.splice(index, 1); render(); sync(); });
      if (rule.value === undefined && def.choices && !val.multiple) rule.value = val.value;
      if (rule.value === undefined && def.kind === "flag" && def.choices) rule.value = val.value;
      list.append(el("li", { class: "rule-row filter-grid" }, [f, op, val, negLabel, remove]));
    });
  }

  function sync() {
    state.op = opSelect.value;
    hidden.value = JSON.stringify(state);
    document.body.dispatchEvent(new CustomEvent("rules-changed"));
  }

  document.getElementById("add-rule").addEventListener("click", () => {
    state.rules.push({ field: fields[0].key }); render(); sync();
  });
  opSelect.addEventListener("change", sync);
  render();
  hidden.value = JSON.stringify(state);
})();

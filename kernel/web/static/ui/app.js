/* PlugCRM UI behaviour: small progressive enhancements; every page also works without it. */
(function () {
  "use strict";

  // The browser's time zone, so dates and times are shown (and read) in local time.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("crm_tz=" + zone) === -1) {
      document.cookie = "crm_tz=" + zone + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (e) { /* keep UTC */ }

  function on(type, selector, handler) {
    document.addEventListener(type, function (event) {
      var target = event.target.closest ? event.target.closest(selector) : null;
      if (target) handler(event, target);
    });
  }

  // Bulk selection: "select all" and enabling the bulk button.
  function refreshBulk(form) {
    var boxes = form.querySelectorAll('input[name="ids"]');
    var checked = form.querySelectorAll('input[name="ids"]:checked').length;
    form.querySelectorAll("[data-bulk-action]").forEach(function (button) { button.disabled = checked === 0; });
    var all = form.querySelector("[data-select-all]");
    if (all) { all.checked = checked > 0 && checked === boxes.length; all.indeterminate = checked > 0 && checked < boxes.length; }
  }
  on("change", "[data-select-all]", function (event, box) {
    var form = box.closest("form");
    form.querySelectorAll('input[name="ids"]').forEach(function (each) { each.checked = box.checked; });
    refreshBulk(form);
  });
  on("change", 'form[data-bulk] input[name="ids"]', function (event, box) { refreshBulk(box.closest("form")); });

  // Selects that apply at once (the dashboard's date range); the form's button is for no-JS.
  on("change", "select[data-autosubmit]", function (event, select) { select.form.requestSubmit(); });

  // Buttons that ask first.
  on("click", "[data-confirm]", function (event, button) {
    if (!window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
  });

  // Reference picker: choosing a match fills the hidden id.
  // A multi-picker (users, teams…) adds a chip with a hidden id per pick instead.
  on("click", "[data-picker-pick]", function (event, option) {
    var search = document.getElementById(option.getAttribute("data-picker-for"));
    var picker = search && search.closest("[data-picker]");
    if (!picker) return;
    var id = option.getAttribute("data-picker-pick");
    var name = picker.getAttribute("data-picker-multi");
    if (name) {
      var chips = picker.querySelector("[data-picker-chips]");
      if (!chips.querySelector('input[value="' + id + '"]')) {
        var chip = document.createElement("li");
        chip.className = "chip";
        var hidden = document.createElement("input");
        hidden.type = "hidden"; hidden.name = name; hidden.value = id;
        var text = document.createElement("span");
        text.textContent = option.getAttribute("data-picker-label");
        var remove = document.createElement("button");
        remove.type = "button"; remove.className = "chip-remove"; remove.textContent = "×";
        remove.setAttribute("data-chip-remove", "");
        remove.setAttribute("aria-label", picker.getAttribute("data-remove-label") || "Remove");
        chip.append(hidden, text, remove);
        chips.appendChild(chip);
      }
      search.value = "";
    } else {
      picker.querySelector("[data-picker-value]").value = id;
      search.value = option.getAttribute("data-picker-label");
    }
    option.parentElement.innerHTML = "";
    search.setAttribute("data-just-picked", "1");  // focusing it again must not reopen the matches
    search.focus();
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-just-picked")) {
      elt.removeAttribute("data-just-picked");
      event.preventDefault();
    }
  });
  // A click elsewhere closes every open list of matches.
  document.addEventListener("click", function (event) {
    document.querySelectorAll(".picker-results").forEach(function (results) {
      if (!results.closest("[data-picker]").contains(event.target)) results.innerHTML = "";
    });
  });
  on("click", "[data-chip-remove]", function (event, button) { button.closest(".chip").remove(); });

  // Length counters: every input with a maxlength says how much of it is used.
  function count(input) {
    var counter = input.parentElement.querySelector("[data-counter-for='" + input.id + "']");
    if (!counter) {
      counter = document.createElement("span");
      counter.className = "counter";
      counter.setAttribute("data-counter-for", input.id);
      counter.setAttribute("aria-live", "polite");
      input.insertAdjacentElement("afterend", counter);
    }
    var max = Number(input.getAttribute("maxlength"));
    counter.hidden = input.value.length === 0;  // an empty field needs no count
    counter.textContent = input.value.length + " / " + max;
    counter.classList.toggle("is-near", input.value.length >= max * 0.9);
  }
  document.querySelectorAll(".record-form input[maxlength], .record-form textarea[maxlength]").forEach(count);
  on("input", ".record-form input[maxlength], .record-form textarea[maxlength]", function (event, input) { count(input); });
  on("click", "[data-picker-clear]", function (event, button) {
    var picker = button.closest("[data-picker]");
    picker.querySelector("[data-picker-value]").value = "";
    picker.querySelector("[data-picker-search]").value = "";
    picker.querySelector(".picker-results").innerHTML = "";
  });
  on("keydown", "[data-picker-search]", function (event, search) {
    if (event.key === "ArrowDown") {
      var first = search.closest("[data-picker]").querySelector("[data-picker-pick]");
      if (first) { event.preventDefault(); first.focus(); }
    } else if (event.key === "Escape") {
      search.closest("[data-picker]").querySelector(".picker-results").innerHTML = "";
    }
  });
  on("keydown", "[data-picker-pick]", function (event, option) {
    var next = event.key === "ArrowDown" ? option.nextElementSibling : event.key === "ArrowUp" ? option.previousElementSibling : null;
    if (next) { event.preventDefault(); next.focus(); }
  });

  // Child rows (order lines…): "Add row" clones the block's template with the next free index.
  document.querySelectorAll("[data-child-add]").forEach(function (button) { button.hidden = false; });
  on("click", "[data-child-add]", function (event, button) {
    var block = button.closest("[data-child-rows]");
    var index = block.getAttribute("data-next-index");
    var holder = document.createElement("div");
    holder.innerHTML = block.querySelector("template[data-child-template]").innerHTML.split("__row__").join(index);
    var row = holder.firstElementChild;
    block.querySelector("[data-child-list]").appendChild(row);
    block.setAttribute("data-next-index", String(Number(index) + 1));
    var first = row.querySelector("input:not([type=hidden]), select, textarea");
    if (first) first.focus();
  });
  on("change", "[data-child-remove]", function (event, box) {
    box.closest("[data-child-row]").classList.toggle("is-removed", box.checked);
  });

  // The language switch returns to the page as it is now (htmx may have changed the address).
  on("click", ".lang a", function (event, link) {
    var url = new URL(link.href);
    url.searchParams.set("next", window.location.pathname + window.location.search);
    link.href = url.toString();
  });
  on("click", "form.lang button", function (event, button) {
    var next = button.form.querySelector("input[name=next]");
    if (next) { next.value = window.location.pathname + window.location.search; }
  });

  // Tabs loaded by htmx: mark the chosen one.
  on("click", "[data-tab], .tabs a", function (event, tab) {
    tab.parentElement.querySelectorAll("a").forEach(function (each) { each.setAttribute("aria-selected", each === tab ? "true" : "false"); });
  });

  // Charts from the JSON each dashboard widget carries.
  function drawCharts() {
    if (!window.echarts) return;
    document.querySelectorAll("[data-chart]").forEach(function (node) {
      var source = node.nextElementSibling;
      if (!source || !source.hasAttribute("data-chart-options") || node.getAttribute("data-drawn")) return;
      var chart = window.echarts.init(node, null, { renderer: "svg" });
      var option = JSON.parse(source.textContent);
      option.color = ["#3d5afe", "#12b76a", "#f79009", "#ee46bc", "#06aed4", "#875bf7"];
      chart.setOption(option);
      node.setAttribute("data-drawn", "1");
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  window.addEventListener("load", drawCharts);
  document.addEventListener("htmx:afterSettle", drawCharts);

  // A tree option list (province / city / district) as cascading selects: the original select keeps
  // the name and holds the deepest level chosen; without this script it is one select of paths.
  function cascade(select) {
    if (select.getAttribute("data-cascaded")) return;
    select.setAttribute("data-cascaded", "1");
    var nodes = JSON.parse(select.getAttribute("data-cascade") || "[]");
    var anyText = select.getAttribute("data-cascade-any") || "—";
    var children = {}, parentOf = {};
    nodes.forEach(function (node) {
      var parent = node[1] || "";
      (children[parent] = children[parent] || []).push(node);
      parentOf[node[0]] = parent;
    });
    var id = select.id;
    var label = id ? document.querySelector('label[for="' + id + '"]') : null;
    var name = label ? label.textContent.replace(/\*/g, "").trim() : "";
    select.id = id ? id + "-value" : "";
    select.hidden = true;
    select.tabIndex = -1;
    var holder = document.createElement("div");
    holder.className = "cascade";
    select.parentNode.insertBefore(holder, select.nextSibling);

    function pathTo(code) {
      var path = [];
      while (code && path.length < 12) { path.unshift(code); code = parentOf[code]; }
      return path;
    }
    function render(path) {
      holder.innerHTML = "";
      var parent = "";
      for (var level = 0; children[parent]; level++) {
        var level_select = document.createElement("select");
        level_select.className = "cascade-level";
        level_select.setAttribute("data-level", String(level));
        if (level === 0 && id) level_select.id = id; else level_select.setAttribute("aria-label", name + " · " + (level + 1));
        var empty = document.createElement("option");
        empty.value = "";
        empty.textContent = anyText;
        level_select.appendChild(empty);
        children[parent].forEach(function (node) {
          var option = document.createElement("option");
          option.value = node[0];
          option.textContent = node[2];
          if (path[level] === node[0]) option.selected = true;
          level_select.appendChild(option);
        });
        holder.appendChild(level_select);
        if (!path[level]) break;
        parent = path[level];
      }
    }
    render(pathTo(select.value));
    holder.addEventListener("change", function (event) {
      var changed = event.target;
      var level = Number(changed.getAttribute("data-level"));
      var path = [];
      holder.querySelectorAll("select").forEach(function (each, index) { if (index < level && each.value) path.push(each.value); });
      if (changed.value) path.push(changed.value);
      select.value = path.length ? path[path.length - 1] : "";
      render(path);
      var next = holder.querySelector('select[data-level="' + (changed.value ? level + 1 : level) + '"]');
      if (next) next.focus();
    });
  }
  function cascadeAll() { document.querySelectorAll("select[data-cascade]").forEach(cascade); }
  cascadeAll();
  document.addEventListener("htmx:afterSettle", cascadeAll);
})();

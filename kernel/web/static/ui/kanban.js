/* Kanban board: drag a card to another column (HTML5 drag and drop), or pick a column and press Move.
 * Either way the card moves at once and the same form is posted in the background, asking for JSON;
 * if the server refuses, the card goes back where it was and the reason appears in the alert region.
 * A refusal that lists what the move lacks (``ask``: fields required to leave a column, questions asked on
 * entering one) opens a dialog with those inputs; sending it posts the move again with the answers added,
 * cancelling puts the card back. Without this script the Move form posts and the page reloads. */
(function () {
  "use strict";

  var board = document.querySelector("[data-kanban]");
  if (!board) return;
  var url = board.getAttribute("data-url");
  var field = board.getAttribute("data-field");
  var token = board.getAttribute("data-csrf");
  var failedText = board.getAttribute("data-failed");
  var errorBox = document.querySelector("[data-board-error]");
  var statusBox = document.querySelector("[data-board-status]");
  var dragged = null;

  function lanes() { return Array.prototype.slice.call(board.querySelectorAll(".lane")); }
  function laneFor(value) { return lanes().filter(function (lane) { return lane.getAttribute("data-lane") === value; })[0] || null; }

  function refreshCounts() {
    lanes().forEach(function (lane) {
      var cards = lane.querySelectorAll(".board-card").length;
      var count = lane.querySelector("[data-lane-count]");
      if (count) count.textContent = String(cards);
      var empty = lane.querySelector(".lane-empty");
      if (empty) empty.hidden = cards > 0;
    });
  }

  // The columns' totals as the server worked them out after a move (every record, not only the cards shown).
  function refreshTotals(totals) {
    lanes().forEach(function (lane) {
      var total = lane.querySelector("[data-lane-total]");
      if (total) total.textContent = totals[lane.getAttribute("data-lane")] || "—";
    });
  }

  function showError(text) {
    if (!errorBox) return;
    errorBox.textContent = text;
    errorBox.hidden = false;
  }

  function clearError() {
    if (errorBox) { errorBox.hidden = true; errorBox.textContent = ""; }
  }

  // A moved card goes to the top of its column: the board lists the most recently changed first.
  function putFirst(card, lane) {
    var first = lane.querySelector(".board-card");
    if (first) lane.insertBefore(card, first); else lane.appendChild(card);
  }

  function choose(card, value) {
    var select = card.querySelector("select[name='" + field + "']");
    if (select) select.value = value;
  }

  function putBack(card, origin, message) {
    var next = origin.next && origin.next.parentNode === origin.lane ? origin.next : null;
    origin.lane.insertBefore(card, next);
    choose(card, origin.lane.getAttribute("data-lane"));
    refreshCounts();
    showError(message || failedText);
  }

  function readAnswer(response) {
    return response.json().then(
      function (data) { return { response: response, data: data || {} }; },
      function () { return { response: response, data: {} }; }
    );
  }

  // One input of the dialog, as the refusal describes it: {name, label, widget, choices, message}.
  function askInput(item, index) {
    var row = document.createElement("div");
    row.className = "field";
    var id = "board-ask-" + index;
    var label = document.createElement("label");
    label.setAttribute("for", id);
    label.textContent = item.label;
    var input;
    if (item.choices && item.choices.length) {
      input = document.createElement("select");
      var empty = document.createElement("option");
      empty.value = "";
      empty.textContent = "—";
      input.appendChild(empty);
      item.choices.forEach(function (choice) {
        var option = document.createElement("option");
        option.value = choice[0];
        option.textContent = choice[1];
        input.appendChild(option);
      });
    } else if (item.widget === "textarea") {
      input = document.createElement("textarea");
      input.rows = 3;
    } else {
      input = document.createElement("input");
      input.type = item.widget === "date" ? "date" : item.widget === "datetime" ? "datetime-local" : "text";
      if (item.widget === "money" || item.widget === "number" || item.widget === "integer") input.inputMode = "decimal";
    }
    input.id = id;
    input.name = item.name;
    input.required = true;
    row.appendChild(label);
    row.appendChild(input);
    if (item.message) {
      var hint = document.createElement("p");
      hint.className = "muted small";
      hint.textContent = item.message;
      row.appendChild(hint);
    }
    return row;
  }

  // Ask for what the move lacks; answers(FormData) or cancelled() once the user decides.
  function ask(items, message, answers, cancelled) {
    var dialog = document.createElement("dialog");
    dialog.className = "board-ask";
    dialog.setAttribute("aria-labelledby", "board-ask-title");
    var form = document.createElement("form");
    form.method = "dialog";
    var title = document.createElement("h2");
    title.id = "board-ask-title";
    title.textContent = message || board.getAttribute("data-ask-title") || "";
    form.appendChild(title);
    items.forEach(function (item, index) { form.appendChild(askInput(item, index)); });
    var buttons = document.createElement("div");
    buttons.className = "form-actions";
    var send = document.createElement("button");
    send.type = "submit";
    send.className = "btn btn-primary";
    send.textContent = board.getAttribute("data-ask-send") || "OK";
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "btn";
    cancel.textContent = board.getAttribute("data-ask-cancel") || "Cancel";
    buttons.appendChild(send);
    buttons.appendChild(cancel);
    form.appendChild(buttons);
    dialog.appendChild(form);
    document.body.appendChild(dialog);
    var done = false;
    function finish(answered) {
      if (done) return;
      done = true;
      var data = answered ? new FormData(form) : null;
      if (dialog.open) dialog.close();
      dialog.remove();
      if (data) answers(data); else cancelled();
    }
    form.addEventListener("submit", function (event) { event.preventDefault(); finish(true); });
    cancel.addEventListener("click", function () { finish(false); });
    dialog.addEventListener("cancel", function (event) { event.preventDefault(); finish(false); });
    dialog.showModal();
    var first = form.querySelector("input, select, textarea");
    if (first) first.focus();
  }

  function move(card, lane, extra) {
    var origin = { lane: card.parentNode, next: card.nextElementSibling };
    var value = lane.getAttribute("data-lane");
    if (origin.lane === lane && !extra) return;
    clearError();
    putFirst(card, lane);
    refreshCounts();
    card.setAttribute("aria-busy", "true");
    var body = new FormData();
    body.append("csrf_token", token);
    body.append("id", card.getAttribute("data-id"));
    body.append(field, value);
    if (extra) extra.forEach(function (answer, name) { body.append(name, answer); });
    fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { "Accept": "application/json", "X-CSRF-Token": token } })
      .then(readAnswer)
      .then(function (answer) {
        var moved = answer.response.ok && !answer.response.redirected && answer.data.field === field && answer.data.value === value;
        if (!moved && answer.response.status === 422 && answer.data.ask && answer.data.ask.length) {
          // Put the card back while the dialog asks; the answers send it again.
          origin.lane.insertBefore(card, origin.next && origin.next.parentNode === origin.lane ? origin.next : null);
          refreshCounts();
          ask(answer.data.ask, answer.data.message,
            function (data) { move(card, lane, data); },
            function () { putBack(card, origin, failedText); });
          return;
        }
        if (!moved) {
          putBack(card, origin, answer.data.message);
          return;
        }
        choose(card, value);
        if (answer.data.totals) refreshTotals(answer.data.totals);
        if (statusBox) statusBox.textContent = answer.data.message || "";
      })
      .catch(function () { putBack(card, origin, failedText); })
      .then(function () { card.removeAttribute("aria-busy"); });
  }

  board.addEventListener("dragstart", function (event) {
    var card = event.target.closest ? event.target.closest(".board-card[draggable='true']") : null;
    if (!card) return;
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-id"));
    card.classList.add("is-dragging");
  });

  board.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("is-dragging");
    dragged = null;
    lanes().forEach(function (lane) { lane.classList.remove("is-drop-target"); });
  });

  board.addEventListener("dragover", function (event) {
    var lane = dragged && event.target.closest ? event.target.closest(".lane") : null;
    if (!lane) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    lanes().forEach(function (each) { each.classList.toggle("is-drop-target", each === lane); });
  });

  board.addEventListener("dragleave", function (event) {
    var lane = event.target.closest ? event.target.closest(".lane") : null;
    if (lane && !lane.contains(event.relatedTarget)) lane.classList.remove("is-drop-target");
  });

  board.addEventListener("drop", function (event) {
    var lane = dragged && event.target.closest ? event.target.closest(".lane") : null;
    if (!lane) return;
    event.preventDefault();
    var card = dragged;
    card.classList.remove("is-dragging");
    lane.classList.remove("is-drop-target");
    dragged = null;
    move(card, lane);
  });

  // The keyboard and phone way: the Move button moves the card the same way, without a reload.
  board.addEventListener("submit", function (event) {
    var form = event.target;
    var card = form.closest ? form.closest(".board-card") : null;
    var select = form.querySelector("select[name='" + field + "']");
    var lane = select ? laneFor(select.value) : null;
    if (!card || !lane) return;
    event.preventDefault();
    move(card, lane);
    var moved = card.querySelector("select");
    if (moved) moved.focus();
  });
})();

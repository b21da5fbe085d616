// Treadle debugger: opens a Python console in a traceback frame, behind the PIN prompt.
// Every request carries the page's secret; the server answers console input as escaped HTML.
(function () {
  "use strict";

  var body = document.body;
  var secret = body.dataset.secret;
  var unlocked = body.dataset.unlocked === "yes";
  var dialog = document.querySelector(".pin-dialog");
  var waitingFrame = null;

  function commandUrl(params) {
    var query = new URLSearchParams({ __debugger__: "yes" });
    Object.keys(params).forEach(function (key) { query.set(key, params[key]); });
    query.set("s", secret);
    return "?" + query.toString();
  }

  function make(tag, className) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    return node;
  }

  function appendText(output, text) {
    output.appendChild(document.createTextNode(text));
    output.scrollTop = output.scrollHeight;
  }

  function send(frame, line, view) {
    return fetch(commandUrl({ cmd: line, frm: frame.dataset.frameId }), { credentials: "same-origin" })
      .then(function (response) {
        return response.text().then(function (text) {
          if (response.ok) {
            view.output.insertAdjacentHTML("beforeend", text);
            view.output.scrollTop = view.output.scrollHeight;
            view.prompt.textContent = (response.headers.get("X-Debugger-Prompt") || ">>>") + " ";
            return;
          }
          appendText(view.output, text);
          if (response.headers.get("X-Debugger-Refusal") === "pin") {
            unlocked = false;
            askPin(frame);
          }
        });
      })
      .catch(function (error) { appendText(view.output, "[request failed: " + error + "]\n"); });
  }

  function buildConsole(frame) {
    var box = make("div", "console");
    var output = make("pre", "console-output");
    var form = make("form", "console-form");
    var prompt = make("span", "prompt");
    var input = make("input", "console-input");
    prompt.textContent = ">>> ";
    input.type = "text";
    input.autocomplete = "off";
    input.spellcheck = false;
    input.setAttribute("aria-label", "Python input for this frame");
    form.appendChild(prompt);
    form.appendChild(input);
    box.appendChild(output);
    box.appendChild(form);
    frame.appendChild(box);

    var view = { output: output, prompt: prompt };
    var history = [];
    var position = 0;
    // Lines run in the order typed, even when answers come back out of order.
    var queue = Promise.resolve();
    function submit(line) {
      if (line.trim()) history.push(line);
      position = history.length;
      queue = queue.then(function () { return send(frame, line, view); });
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var line = input.value;
      input.value = "";
      submit(line);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowUp" && position > 0) {
        position -= 1;
        input.value = history[position];
        event.preventDefault();
      } else if (event.key === "ArrowDown" && position < history.length) {
        position += 1;
        input.value = position < history.length ? history[position] : "";
        event.preventDefault();
      }
    });
    input.addEventListener("paste", function (event) {
      var text = (event.clipboardData || window.clipboardData).getData("text");
      if (text.indexOf("\n") === -1) return;
      event.preventDefault();
      var lines = text.replace(/\r\n?/g, "\n").split("\n");
      if (lines[lines.length - 1] === "") lines.pop();
      lines.forEach(submit);
    });
    return box;
  }

  function openConsole(frame) {
    var box = frame.querySelector(".console");
    if (box && frame.dataset.frameId !== "0") {
      box.hidden = !box.hidden;
    } else if (!box) {
      box = buildConsole(frame);
    }
    if (!box.hidden) box.querySelector("input").focus();
  }

  function askPin(frame) {
    waitingFrame = frame;
    dialog.hidden = false;
    dialog.querySelector(".pin-message").textContent = "";
    dialog.querySelector("input").focus();
  }

  function closePin() {
    dialog.hidden = true;
    waitingFrame = null;
  }

  function wantConsole(frame) {
    if (unlocked) openConsole(frame);
    else askPin(frame);
  }

  if (dialog) {
    var pinForm = dialog.querySelector("form");
    var message = dialog.querySelector(".pin-message");
    pinForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var input = pinForm.elements.pin;
      fetch(commandUrl({ cmd: "pinauth", pin: input.value }), { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          if (answer.auth) {
            var frame = waitingFrame;
            unlocked = true;
            input.value = "";
            closePin();
            if (frame) openConsole(frame);
          } else if (answer.locked) {
            message.textContent = "Too many wrong PINs: the console is locked until the server restarts.";
          } else {
            message.textContent = "Wrong PIN. Look for \u201c * Debugger PIN\u201d in the server's terminal.";
            input.select();
          }
        })
        .catch(function (error) { message.textContent = "Could not reach the server: " + error; });
    });
    dialog.querySelector(".pin-cancel").addEventListener("click", closePin);
    dialog.querySelector(".pin-print").addEventListener("click", function () {
      fetch(commandUrl({ cmd: "printpin" }), { credentials: "same-origin" }).then(function () {
        message.textContent = "The PIN has been printed in the server's terminal.";
      });
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !dialog.hidden) closePin();
    });
  }

  if (body.dataset.console === "on") {
    document.querySelectorAll(".console-toggle").forEach(function (button) {
      button.addEventListener("click", function () { wantConsole(button.closest(".frame")); });
    });
    var standalone = document.querySelector(".frame.standalone");
    if (standalone) wantConsole(standalone);
  }
})();

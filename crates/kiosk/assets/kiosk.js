// The touchscreen's script (crates/kiosk/src/ui, docs/ui.md): keypads, the signature canvas,
// activity pings, live updates over server-sent events, the countdown and voice prompts. The
// page works as plain forms without it except for the keypads and the signature.
(function () {
  "use strict";

  var body = document.body;
  var rendered = {
    version: body.dataset.version,
    fingerprint: body.dataset.fingerprint,
    screen: body.dataset.screen
  };

  // Live updates: reload when the agent publishes a view that draws differently. A new version
  // alone (e.g. an activity ping the agent recorded) does not reload, so typed digits survive.
  var reloading = false;
  function reload() {
    if (!reloading) {
      reloading = true;
      window.location.replace("/");
    }
  }
  var source = null;
  try {
    source = window.EventSource ? new EventSource("/events") : null;
  } catch (e) { /* no live updates: the forms still lead to the next page */ }
  if (source) {
    source.addEventListener("view", function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (String(data.version) !== rendered.version && data.fingerprint !== rendered.fingerprint) {
        reload();
      } else {
        body.dataset.version = String(data.version);
        rendered.version = String(data.version);
      }
    });
  }

  // One submission per page: a double tap must not post twice.
  document.addEventListener("submit", function (event) {
    if (body.dataset.submitted === "1") {
      event.preventDefault();
      return;
    }
    body.dataset.submitted = "1";
  });

  // Any touch restarts the inactivity timer; at most one ping every 5 seconds.
  var lastPing = 0;
  function ping() {
    var now = Date.now();
    if (rendered.screen === "welcome" || now - lastPing < 5000) { return; }
    lastPing = now;
    try {
      fetch("/action", {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: "action=activity",
        redirect: "manual",
        keepalive: true
      }).catch(function () {});
    } catch (e) { /* an old browser without fetch: the forms still work */ }
  }
  document.addEventListener("pointerdown", ping, true);

  // Keypads: digits go to the active field; a full field passes the focus to the next one.
  var fields = Array.prototype.slice.call(document.querySelectorAll(".typed-field"));
  function active() {
    return document.querySelector(".typed-field.active") || fields[0];
  }
  function activate(field) {
    fields.forEach(function (f) { f.classList.toggle("active", f === field); });
  }
  fields.forEach(function (field) {
    field.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      activate(field);
    });
    // A WebDriver click or a keyboard focus selects the field too.
    field.addEventListener("click", function () { activate(field); });
    field.addEventListener("focus", function () { activate(field); });
  });
  Array.prototype.forEach.call(document.querySelectorAll(".keypad .key"), function (key) {
    key.addEventListener("click", function () {
      var field = active();
      if (!field) { return; }
      var k = key.dataset.key;
      var max = parseInt(field.getAttribute("maxlength") || "64", 10);
      if (k === "delete") {
        if (field.value === "" && fields.indexOf(field) > 0) {
          field = fields[fields.indexOf(field) - 1];
          activate(field);
        }
        field.value = field.value.slice(0, -1);
      } else if (k === "clear") {
        field.value = "";
      } else if (field.value.length < max) {
        field.value += k;
        if (field.value.length === max) {
          var next = fields[fields.indexOf(field) + 1];
          if (next) { activate(next); }
        }
      }
    });
  });

  // Signature: pointer events, the pen's pressure sets the line width.
  var pad = document.getElementById("signature-pad");
  if (pad) {
    var ctx = pad.getContext("2d");
    var confirmButton = document.getElementById("signature-confirm");
    var clearButton = document.getElementById("signature-clear");
    var drawing = false;
    var last = null;
    var inked = false;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, pad.width, pad.height);
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#000";
    var point = function (event) {
      var rect = pad.getBoundingClientRect();
      var pressure = event.pressure > 0 ? event.pressure : 0.5;
      return {
        x: (event.clientX - rect.left) * pad.width / rect.width,
        y: (event.clientY - rect.top) * pad.height / rect.height,
        w: 2 + 8 * pressure
      };
    };
    pad.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      if (pad.setPointerCapture) { pad.setPointerCapture(event.pointerId); }
      drawing = true;
      last = point(event);
      ctx.beginPath();
      ctx.arc(last.x, last.y, last.w / 2, 0, 2 * Math.PI);
      ctx.fillStyle = "#000";
      ctx.fill();
    });
    pad.addEventListener("pointermove", function (event) {
      if (!drawing) { return; }
      event.preventDefault();
      var p = point(event);
      ctx.lineWidth = (last.w + p.w) / 2;
      ctx.beginPath();
      ctx.moveTo(last.x, last.y);
      ctx.lineTo(p.x, p.y);
      ctx.stroke();
      last = p;
      if (!inked) {
        inked = true;
        confirmButton.disabled = false;
      }
    });
    var stop = function () { drawing = false; last = null; };
    pad.addEventListener("pointerup", stop);
    pad.addEventListener("pointercancel", stop);
    pad.addEventListener("pointerleave", stop);
    clearButton.addEventListener("click", function () {
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, pad.width, pad.height);
      inked = false;
      confirmButton.disabled = true;
    });
    confirmButton.addEventListener("click", function () {
      if (!inked || body.dataset.submitted === "1") { return; }
      body.dataset.submitted = "1";
      confirmButton.disabled = true;
      fetch("/signature", {
        method: "POST",
        headers: { "Content-Type": "text/plain" },
        body: pad.toDataURL("image/png")
      }).then(reload, reload);
    });
  }

  // Countdown: the seconds count down; the ring drains in CSS.
  var countdown = document.getElementById("countdown-seconds");
  if (countdown) {
    var left = parseInt(countdown.textContent, 10);
    var timer = setInterval(function () {
      left -= 1;
      if (left <= 0) { left = 0; clearInterval(timer); }
      countdown.textContent = String(left);
    }, 1000);
  }

  // Time left on the QR and finished screens (issue 15): the agent's seconds count down.
  Array.prototype.forEach.call(document.querySelectorAll("[data-ticks]"), function (el) {
    var secs = parseInt(el.textContent, 10);
    var tick = setInterval(function () {
      secs -= 1;
      if (secs <= 0) { secs = 0; clearInterval(tick); }
      el.textContent = String(secs);
    }, 1000);
  });

  // Voice prompts: the agent speaks the screen's Chinese text (title, instruction, options) with
  // its offline engine; the page plays the WAV. Chromium in kiosk mode runs with
  // --autoplay-policy=no-user-gesture-required, and the start screen was touched anyway.
  var audio = document.getElementById("voice-audio");
  if (audio && body.dataset.voice === "on") {
    var played = audio.play();
    if (played && played.catch) { played.catch(function () { /* blocked: the text is on screen */ }); }
  }

  // Physical keypad: digits (and X) type into the active field, Backspace deletes, Enter
  // confirms, Escape goes back. Without a field, digits 1..n pick the screen's n-th option and
  // Enter presses its main button, so a session can be done by ear and keys alone.
  function press(button) {
    if (button && !button.disabled) { button.click(); return true; }
    return false;
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey) { return; }
    ping();
    var key = event.key;
    var handled = false;
    var hasKeypad = !!document.querySelector(".keypad");
    if (key === "Escape") {
      handled = press(document.getElementById("back"));
    } else if (hasKeypad && /^[0-9]$/.test(key)) {
      handled = press(document.querySelector('.keypad .key[data-key="' + key + '"]'));
    } else if (hasKeypad && (key === "x" || key === "X" || key === "*")) {
      // A numeric keypad has no X: its * key types the ID number's check character.
      handled = press(document.querySelector('.keypad .key[data-key="X"]'));
    } else if (hasKeypad && (key === "Backspace" || key === "Delete")) {
      handled = press(document.querySelector('.keypad .key[data-key="delete"]'));
    } else if (/^[1-9]$/.test(key)) {
      var options = document.querySelectorAll("#screen button.choice, #screen button.toggle");
      handled = press(options[parseInt(key, 10) - 1]);
    } else if (key === "Enter") {
      var focused = document.activeElement;
      if (focused && focused.tagName === "BUTTON") { return; } // the browser presses it
      handled = press(document.querySelector("#screen .btn.primary"));
    }
    if (handled) { event.preventDefault(); }
  });
})();

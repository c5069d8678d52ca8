// The admin's own script. Pages work without it; it adds confirmations before
// destructive actions and live updates from server-sent events.
"use strict";

document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// An element with data-live="URL" receives the server-sent events of URL: each event's
// data is JSON, and every element inside with data-field="name" shows data[name]; a
// <progress data-field="name"> takes it as its value. When the stream says
// {"done": true} the page reloads to show the outcome.
window.mailerLive = function (root) {
  var url = root.getAttribute("data-live");
  if (!url || !window.EventSource) { return null; }
  var source = new EventSource(url);
  source.onmessage = function (message) {
    var data;
    try { data = JSON.parse(message.data); } catch (e) { return; }
    root.querySelectorAll("[data-field]").forEach(function (element) {
      var name = element.getAttribute("data-field");
      if (!(name in data)) { return; }
      if (element.tagName === "PROGRESS") {
        element.value = Number(data[name]) || 0;
        if (data[name + "_max"] !== undefined) { element.max = Number(data[name + "_max"]) || 1; }
      } else {
        element.textContent = String(data[name]);
      }
    });
    if (data.done) {
      source.close();
      if (root.getAttribute("data-reload") !== "no") { window.location.reload(); }
    }
  };
  return source;
};

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-live]").forEach(window.mailerLive);
});

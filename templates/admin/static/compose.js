// The composer's script. The form works without it; it shows only the chosen source's
// field, and counts the recipients while lists and segment change.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("compose");
  if (!form) { return; }
  document.documentElement.classList.add("js");

  function showSource() {
    var chosen = form.querySelector("input[name=source]:checked");
    var value = chosen ? chosen.value : "markdown";
    form.querySelectorAll(".source-part").forEach(function (part) {
      part.hidden = part.getAttribute("data-source") !== value;
    });
  }
  form.querySelectorAll("input[name=source]").forEach(function (radio) {
    radio.addEventListener("change", showSource);
  });
  showSource();

  var output = document.getElementById("count");
  var url = output && output.getAttribute("data-count-url");
  var timer = null;
  var asked = 0;
  function count() {
    var query = new URLSearchParams();
    form.querySelectorAll("input[name=list]:checked").forEach(function (box) {
      query.append("list", box.value);
    });
    query.append("segment", form.querySelector("#segment").value);
    var number = ++asked;
    fetch(url + "?" + query.toString(), { credentials: "same-origin" })
      .then(function (answer) { return answer.json(); })
      .then(function (data) {
        if (number !== asked) { return; }  // an older answer after a newer question
        output.textContent = data.problem ? data.problem : data.text;
        output.classList.toggle("problem", Boolean(data.problem));
      })
      .catch(function () { output.textContent = ""; });
  }
  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(count, 300);
  }
  // While Markdown is typed, the email below follows it (the "Show the email" button,
  // pressed for the writer a moment after they stop).
  var show = document.getElementById("show-email");
  var typing = null;
  var markdown = document.getElementById("markdown");
  if (show && markdown && form.requestSubmit) {
    markdown.addEventListener("input", function () {
      window.clearTimeout(typing);
      typing = window.setTimeout(function () {
        var chosen = form.querySelector("input[name=source]:checked");
        if (chosen && chosen.value === "markdown" && markdown.value.trim()) {
          form.requestSubmit(show);
        }
      }, 800);
    });
  }

  if (url) {
    form.querySelectorAll("input[name=list]").forEach(function (box) {
      box.addEventListener("change", count);
    });
    form.querySelector("#segment").addEventListener("input", later);
  }
});

// The localaik inspector's one script (the Content-Security-Policy allows no other): an element
// with data-poll is refreshed in place every data-every milliseconds from that URL, which
// answers with the element's new content (HTML built and escaped by the server).
"use strict";
(function () {
  function poll(element) {
    var url = element.getAttribute("data-poll");
    var every = parseInt(element.getAttribute("data-every") || "1000", 10);
    var shown = null;
    function refresh() {
      fetch(url, { cache: "no-store", credentials: "same-origin" })
        .then(function (reply) { return reply.ok ? reply.text() : null; })
        .then(function (html) {
          if (html !== null && html !== shown) {
            shown = html;
            element.innerHTML = html;
          }
        })
        .catch(function () { /* the server is gone or restarting: try again later */ })
        .then(function () { setTimeout(refresh, every); });
    }
    setTimeout(refresh, every);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll]").forEach(poll);
  });
})();

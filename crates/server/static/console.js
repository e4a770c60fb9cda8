// pumpguard console: progressive enhancement only; every page works without it.
// A form with data-confirm asks before it is sent (revoking, removing).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form && form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

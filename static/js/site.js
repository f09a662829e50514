// Behaviour without inline scripts (the Content-Security-Policy allows only our own files).
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});

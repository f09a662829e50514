// Behaviour without inline scripts (the Content-Security-Policy allows only our own files).
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});

// A form whose button asks first (workflow rows with a confirmation: 提交本村报表, 审核通过 …):
// <form data-confirm="…">. Nothing is sent unless the person says yes.
document.addEventListener("submit", function (event) {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});

// "Chọn tất cả" in the review queue (the page's only script of its own; CSP forbids inline).
document.addEventListener("change", function (event) {
  if (event.target && event.target.id === "all") {
    document.querySelectorAll('#decide input[name="entry"]').forEach(function (box) {
      box.checked = event.target.checked;
    });
  }
});

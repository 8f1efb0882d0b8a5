// Inbox: picking a canned reply puts its text in the answer box, where it can still be changed before sending.
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-canned-for]");
  if (!select) return;
  const option = select.selectedOptions[0];
  const box = document.getElementById(select.dataset.cannedFor);
  if (box && option && option.dataset.body !== undefined) {
    box.value = option.dataset.body;
    box.focus();
  }
});

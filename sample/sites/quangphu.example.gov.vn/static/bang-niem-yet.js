// The posting board is filled in the browser from the commune's one-door system, as many real boards are:
// the HTML as served has an empty <tbody>.
fetch("/api/thu-tuc.json").then(function (answer) { return answer.json(); }).then(function (procedures) {
  var body = document.querySelector("#bang-tthc tbody");
  procedures.forEach(function (procedure, index) {
    var row = document.createElement("tr");
    [String(index + 1), procedure.ten, procedure.linh_vuc, procedure.thoi_han].forEach(function (text, column) {
      var cell = document.createElement("td");
      if (column === 1 && procedure.lien_ket) {
        var link = document.createElement("a");
        link.href = procedure.lien_ket;
        link.textContent = text;
        cell.appendChild(link);
      } else {
        cell.textContent = text;
      }
      row.appendChild(cell);
    });
    body.appendChild(row);
  });
});

"""Views over the findings store with Vietnamese column names: what leaders browse and facet in Datasette.

Plain SQL only (no functions of auditbot's), so any SQLite client reads them too; Datasette's cells
plugin shows their ISO dates and raw numbers as 31/10/2026, 1.234 and 99,65%.
"""

from __future__ import annotations

import sqlite_utils

from auditbot.store.overdue_causes import causes_sql

FINDINGS_OVERVIEW = """
SELECT f.id AS "Mã vi phạm", u.name AS "Đơn vị", coalesce(k.name, u.kind) AS "Loại đơn vị",
  coalesce(c.family_name, f.check_id) AS "Nhóm", coalesce(c.title, f.check_id) AS "Loại vi phạm",
  f.title AS "Nội dung",
  CASE f.status WHEN 'open' THEN 'Đang mở' WHEN 'muted' THEN 'Tạm bỏ qua' ELSE 'Đã khắc phục' END AS "Trạng thái",
  CASE f.severity WHEN 'high' THEN 'Cao' WHEN 'low' THEN 'Thấp' ELSE 'Trung bình' END AS "Mức độ",
  f.first_seen AS "Phát hiện lần đầu", f.last_seen AS "Ghi nhận gần nhất", f.resolved_at AS "Khắc phục lúc",
  CAST(julianday(coalesce(f.resolved_at, f.last_seen)) - julianday(f.first_seen) AS INTEGER) AS "Số ngày tồn tại",
  f.unit AS "Mã đơn vị", f.check_id AS "Mã kiểm tra"
FROM findings f
LEFT JOIN units u ON u.code = f.unit
LEFT JOIN unit_kinds k ON k.kind = u.kind
LEFT JOIN checks c ON c.id = f.check_id
"""

FIGURES_HISTORY = """
SELECT g.day AS "Ngày", g.period AS "Kỳ", u.name AS "Đơn vị", coalesce(k.name, g.kind) AS "Loại đơn vị",
  g.received AS "Hồ sơ tiếp nhận", g.online AS "Nộp trực tuyến", g.finished AS "Đã giải quyết",
  g.digitised AS "Số hóa kết quả", g.fee_paid AS "Có phí, lệ phí", g.paid_online AS "Thanh toán trực tuyến",
  g.late + g.overdue_open AS "Quá hạn",
  g.digitisation_rate AS "Tỷ lệ số hóa", g.digitisation_min AS "Ngưỡng số hóa",
  g.online_rate AS "Tỷ lệ trực tuyến", g.online_min AS "Ngưỡng trực tuyến",
  g.online_payment_rate AS "Tỷ lệ thanh toán trực tuyến", g.online_payment_min AS "Ngưỡng thanh toán trực tuyến",
  g.overdue_rate AS "Tỷ lệ quá hạn", g.overdue_max AS "Ngưỡng quá hạn tối đa",
  g.unit AS "Mã đơn vị"
FROM unit_figures g
LEFT JOIN units u ON u.code = g.unit
LEFT JOIN unit_kinds k ON k.kind = g.kind
"""

INDEX_HISTORY = """
SELECT i.day AS "Ngày", i.period AS "Kỳ", u.name AS "Đơn vị", coalesce(k.name, i.kind) AS "Loại đơn vị",
  i.group_name AS "Nhóm chỉ số", i.indicator AS "Chỉ tiêu", i.name AS "Tên chỉ tiêu",
  i.numerator AS "Tử số", i.denominator AS "Mẫu số", i.rate AS "Tỷ lệ đạt", i.points AS "Điểm",
  i.max_points AS "Điểm tối đa",
  CASE i.state WHEN 'scored' THEN 'Đã tính điểm' WHEN 'rate_only' THEN 'Chưa xác định cách tính điểm'
    WHEN 'no_dossiers' THEN 'Mẫu số bằng 0' ELSE 'Chưa có dữ liệu' END AS "Tình trạng",
  i.advice AS "Điểm có thể tăng", i.unit AS "Mã đơn vị"
FROM unit_index i
LEFT JOIN units u ON u.code = i.unit
LEFT JOIN unit_kinds k ON k.kind = i.kind
"""

# overdue dossiers per unit by whose fault they are (overdue_causes.py), as of the moment the view is read
OVERDUE_BY_CAUSE = f"""
SELECT u.name AS "Đơn vị", coalesce(k.name, u.kind) AS "Loại đơn vị",
  sum(o.cause = 'unit') AS "Quá hạn do đơn vị", sum(o.cause = 'sync') AS "Quá hạn do lỗi đồng bộ",
  sum(o.cause = 'citizen') AS "Quá hạn do chờ công dân bổ sung", count(*) AS "Tổng quá hạn",
  o.unit AS "Mã đơn vị"
FROM ({causes_sql("datetime('now', 'localtime')")}) o
LEFT JOIN units u ON u.code = o.unit
LEFT JOIN unit_kinds k ON k.kind = u.kind
GROUP BY o.unit
"""

# the measure of "evidence before findings" in the field: per check, how many of its findings units disputed
# and how many the centre then closed as false (store/answers.py)
FALSE_FINDINGS = """
SELECT coalesce(c.title, f.check_id) AS "Loại vi phạm", count(DISTINCT f.id) AS "Số vi phạm",
  count(DISTINCT CASE WHEN a.kind = 'disagree' THEN f.id END) AS "Đơn vị không đồng ý",
  count(DISTINCT CASE WHEN a.decision = 'false_finding' THEN f.id END) AS "Trung tâm xác nhận sai",
  round(100.0 * count(DISTINCT CASE WHEN a.decision = 'false_finding' THEN f.id END) / count(DISTINCT f.id), 2)
    AS "Tỷ lệ phát hiện sai",
  f.check_id AS "Mã kiểm tra"
FROM findings f
LEFT JOIN answers a ON a.finding_id = f.id
LEFT JOIN checks c ON c.id = f.check_id
WHERE f.unit <> '_centre'
GROUP BY f.check_id
"""

VIEWS = {"findings_overview": FINDINGS_OVERVIEW, "figures_history": FIGURES_HISTORY, "index_history": INDEX_HISTORY,
         "overdue_by_cause": OVERDUE_BY_CAUSE, "false_findings": FALSE_FINDINGS}


def ensure_views(db: sqlite_utils.Database) -> None:
    """(Re)create each view whose SQL changed; an unchanged schema is left alone (no write, no lock)."""
    current = {row["name"]: row["sql"] for row in db.query("SELECT name, sql FROM sqlite_master WHERE type = 'view'")}
    for name, sql in VIEWS.items():
        wanted = f"CREATE VIEW {name} AS {sql.strip()}"
        if current.get(name) != wanted:
            with db.conn:
                db.conn.execute(f"DROP VIEW IF EXISTS {name}")
                db.conn.execute(wanted)

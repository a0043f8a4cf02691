"""What a procedure catalogue's columns and statuses are called, in the words real catalogues use.

No I/O and no imports from the rest of auditbot: config validates rules.toml against these names.
"""

from __future__ import annotations

# canonical field -> header aliases, most specific first (matched accent-, case- and spacing-insensitively)
FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("Mã thủ tục", "Mã TTHC", "Mã thủ tục hành chính", "Mã số", "Mã"),
    "name": ("Tên thủ tục", "Tên TTHC", "Tên thủ tục hành chính", "Tên"),
    "field": ("Lĩnh vực",),
    "level": ("Cấp thực hiện", "Cấp", "Cấp thẩm quyền"),
    "unit": ("Cơ quan thực hiện", "Đơn vị thực hiện", "Cơ quan giải quyết"),
    "status": ("Trạng thái", "Tình trạng", "Tình trạng hiệu lực", "Hiệu lực"),
    "effective_from": ("Ngày hiệu lực", "Ngày có hiệu lực", "Hiệu lực từ"),
    "effective_to": ("Ngày hết hiệu lực", "Hiệu lực đến"),
    "decision": ("Quyết định công bố", "Số quyết định", "Quyết định"),
    # the publication decision's date, when the catalogue gives it a column (else read from "… ngày dd/mm/yyyy")
    "decided_at": ("Ngày quyết định", "Ngày quyết định công bố", "Ngày ban hành", "Ngày công bố"),
    "abolished_by": ("Quyết định bãi bỏ", "Văn bản bãi bỏ"),
    "portal_id": ("ID Cổng DVCQG", "ID trên Cổng DVCQG", "ID trên Cổng", "ID thủ tục", "Mã trên Cổng",
                  "formalityId", "Mã định danh", "ID"),
    "online_level": ("Mức độ DVCTT", "Mức độ dịch vụ công trực tuyến", "Mức độ DVC", "Mức độ cung cấp DVC",
                     "Dịch vụ công trực tuyến", "DVC trực tuyến", "Mức độ", "Loại DVC"),
}

STATUS_VALUES = {
    "Còn hiệu lực": "in_force", "Đang áp dụng": "in_force", "Có hiệu lực": "in_force", "Đang có hiệu lực": "in_force",
    "Đã bãi bỏ": "abolished", "Bãi bỏ": "abolished", "Bị bãi bỏ": "abolished",
    "Hết hiệu lực": "expired", "Đã hết hiệu lực": "expired",
    "Bị thay thế": "replaced", "Đã thay thế": "replaced", "Được thay thế": "replaced",
    "Chưa có hiệu lực": "pending", "Sắp có hiệu lực": "pending", "Chưa hiệu lực": "pending",
}

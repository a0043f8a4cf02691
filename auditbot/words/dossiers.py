"""What a dossier export's columns and values are called, in the words real exports use."""

from __future__ import annotations

# canonical field -> header aliases, most specific first (matched accent-, case- and spacing-insensitively)
FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("Mã hồ sơ", "Số hồ sơ", "MaHoSo"),
    "procedure_code": ("Mã TTHC", "Mã thủ tục", "Mã thủ tục hành chính", "MaTTHC"),
    "procedure_name": ("Tên TTHC", "Tên thủ tục", "Tên thủ tục hành chính", "TenTTHC"),
    "unit": ("Đơn vị", "Đơn vị tiếp nhận", "Cơ quan tiếp nhận", "Cơ quan giải quyết", "Đơn vị giải quyết",
             "Đơn vị xử lý", "Cơ quan thực hiện", "DonViXuLy"),
    "received_at": ("Ngày tiếp nhận", "Ngày nhận", "Thời gian tiếp nhận", "NgayTiepNhan"),
    "due_at": ("Ngày hẹn trả", "Hạn xử lý", "Hạn giải quyết", "Ngày hẹn trả kết quả", "Hạn trả kết quả",
               "Hạn trả", "Thời hạn giải quyết", "Hạn hoàn thành", "NgayHenTra"),
    "finished_at": ("Ngày có kết quả", "Ngày kết thúc", "Ngày hoàn thành", "Ngày trả kết quả",
                    "Ngày kết thúc xử lý", "NgayKetThucXuLy"),
    "status": ("Trạng thái", "Tình trạng", "Trạng thái hồ sơ", "TrangThaiHoSo"),
    "channel": ("Hình thức nộp", "Kênh nộp", "Hình thức tiếp nhận", "Kênh tiếp nhận", "KenhThucHien"),
    "fee": ("Phí, lệ phí", "Lệ phí", "Số tiền", "Phí", "Phí lệ phí"),
    "paid_online": ("Thanh toán trực tuyến", "Đã thanh toán trực tuyến", "DuocThanhToanTrucTuyen"),
    "digitised": ("Số hóa kết quả", "Đã số hóa kết quả", "Kết quả số hóa"),
    "result_ref": ("Số kết quả", "Ký hiệu kết quả", "Tệp kết quả", "Mã kết quả", "MaKetQua"),
    # an export that keeps one supplement request per dossier in two columns (the sync payload keeps a list)
    "supplement_requested_at": ("Ngày yêu cầu bổ sung", "Ngày bắt đầu bổ sung", "Thời điểm yêu cầu bổ sung"),
    "supplement_received_at": ("Ngày nhận bổ sung", "Ngày tiếp nhận bổ sung", "Ngày kết thúc bổ sung",
                               "Ngày công dân bổ sung"),
    # after a merger, the new unit that took the dossier over (read for [dossiers] rollup = "named")
    "successor_unit": ("Đơn vị kế thừa", "Đơn vị tiếp nhận mới", "Đơn vị sau sắp xếp", "Đơn vị sau sáp nhập",
                       "Đơn vị mới"),
    # whether the national portal has the dossier's latest state, and since when (the provincial system's own
    # columns); an export of another system (a ministry's centralised one) names itself and the province's code
    "sync_flag": ("Đồng bộ DVCQG", "Đồng bộ DVC", "Trạng thái đồng bộ", "Đã đồng bộ", "TrangThaiDongBoDVC"),
    "synced_at": ("Thời gian đồng bộ", "Ngày đồng bộ", "Đồng bộ lúc", "NgayDongBo", "ThoiGianDongBo"),
    "system": ("Hệ thống", "Hệ thống xử lý", "Nguồn dữ liệu", "HeThong"),
    "alt_code": ("Mã hồ sơ khác", "Mã hồ sơ liên thông", "Mã hồ sơ trên hệ thống tỉnh", "MaHoSoKhac"),
    # an online dossier's submission, or the deadline the system set for receiving it (8 working hours later)
    "submitted_at": ("Ngày nộp", "Thời gian nộp", "Ngày giờ nộp", "NgayNopHoSo"),
    "receipt_due_at": ("Hạn tiếp nhận", "HanTiepNhan"),
    # an overdue dossier's apology to the citizen: the slip's date, the slip itself, the new appointment date
    "apology_at": ("Ngày xin lỗi", "Ngày phiếu xin lỗi"),
    "apology_slip": ("Phiếu xin lỗi", "Số phiếu xin lỗi"),
    "new_due_at": ("Ngày hẹn mới", "Ngày hẹn trả mới"),
}
# read from the portal's sync records only (no export column carries them)
SYNC_ONLY = ("inputs_digitised", "documents", "documents_digitised", "documents_reused", "supplements", "known")

# which inputs a dossier's record has: a figure over dossiers none of which has its input is unknown, not 0
KNOWN_CHANNEL, KNOWN_DUE, KNOWN_DIGITISED, KNOWN_PAYMENT, KNOWN_RESULT = 1, 2, 4, 8, 16
KNOWN_SUBMITTED, KNOWN_APOLOGY = 32, 64  # a submission time or receipt deadline; an apology or new date
KNOWN_BITS = {"channel": KNOWN_CHANNEL, "due_at": KNOWN_DUE, "digitised": KNOWN_DIGITISED,
              "payment": KNOWN_PAYMENT, "result_ref": KNOWN_RESULT, "submitted_at": KNOWN_SUBMITTED,
              "receipt_due_at": KNOWN_SUBMITTED, "apology_at": KNOWN_APOLOGY, "apology_slip": KNOWN_APOLOGY,
              "new_due_at": KNOWN_APOLOGY}
# figure -> the input it needs (as the import summary names them)
FIGURE_INPUTS = {"online_rate": KNOWN_CHANNEL, "on_time_rate": KNOWN_DUE, "overdue_rate": KNOWN_DUE,
                 "digitisation_rate": KNOWN_DIGITISED, "online_payment_rate": KNOWN_PAYMENT,
                 "dossier.closed_without_result": KNOWN_RESULT | KNOWN_DIGITISED,
                 "dossier.late_receipt": KNOWN_SUBMITTED, "dossier.no_apology": KNOWN_APOLOGY | KNOWN_DUE}

REQUIRED = ("code", "unit", "received_at", "status")

# Columns that carry citizens' personal data: never mapped, never stored, never echoed.
PERSONAL = ("Chủ hồ sơ", "Người nộp", "Người đứng tên", "Họ và tên", "Họ tên", "Số CCCD", "Số CMND",
            "CCCD", "CMND", "Số CCCD/CMND", "Số giấy tờ", "Số điện thoại", "Điện thoại", "SĐT", "Địa chỉ",
            "Email", "Thư điện tử", "ChuHoSo", "SoDienThoai", "SoGiayToChuHoSo", "DiaChi")

STATUSES = ("registered", "received", "processing", "supplement", "suspended", "stopped", "finished", "rejected",
            "withdrawn")
# closed without being finished: refused at reception, withdrawn by the citizen, stopped by the office
CLOSED_STATUSES = ("finished", "rejected", "withdrawn", "stopped")
NOT_RECEIVED = "registered"  # registered online, not received yet: no dossier for the figures (skipped, counted)
CHANNELS = ("online", "direct", "post")

STATUS_VALUES: dict[str, str] = {
    # the ten national statuses (TrangThaiHoSo 1-10), by code and by name
    "1": "registered", "2": "received", "3": "rejected", "4": "processing", "5": "supplement",
    "6": "processing", "7": "withdrawn", "8": "stopped", "9": "finished", "10": "finished",
    "Mới đăng ký": "registered", "Được tiếp nhận": "received", "Không được tiếp nhận": "rejected",
    "Yêu cầu bổ sung giấy tờ": "supplement", "Yêu cầu thực hiện nghĩa vụ tài chính": "processing",
    "Công dân yêu cầu rút hồ sơ": "withdrawn", "Dừng xử lý": "stopped",
    "Chờ tiếp nhận": "registered", "Đăng ký mới": "registered",
    "Mới tiếp nhận": "received", "Đã tiếp nhận": "received", "Tiếp nhận": "received",
    "Đang xử lý": "processing", "Đang giải quyết": "processing", "Chờ xử lý": "processing",
    "Đang thẩm định": "processing", "Chờ phê duyệt": "processing", "Chờ trả kết quả": "processing",
    "Yêu cầu nghĩa vụ tài chính": "processing", "Chờ thực hiện nghĩa vụ tài chính": "processing",
    "Chờ bổ sung": "supplement", "Yêu cầu bổ sung": "supplement", "Bổ sung hồ sơ": "supplement",
    "Tạm dừng": "suspended", "Tạm dừng xử lý": "suspended", "Đã dừng xử lý": "stopped",
    "Đã trả kết quả": "finished", "Hoàn thành": "finished", "Đã hoàn thành": "finished",
    "Đã xử lý xong": "finished", "Đã giải quyết": "finished", "Đã có kết quả": "finished",
    "Kết thúc": "finished", "Đã kết thúc": "finished", "Trả kết quả": "finished",
    "Từ chối": "rejected", "Trả lại hồ sơ": "rejected",
    "Không tiếp nhận": "rejected", "Từ chối tiếp nhận": "rejected", "Đã từ chối": "rejected",
    "Rút hồ sơ": "withdrawn", "Yêu cầu rút hồ sơ": "withdrawn", "Công dân rút": "withdrawn", "Đã rút": "withdrawn", "Công dân rút hồ sơ": "withdrawn",
}

CHANNEL_VALUES: dict[str, str] = {
    "1": "direct", "2": "online", "3": "post",
    "Trực tuyến": "online", "Trực tuyến toàn trình": "online", "Trực tuyến một phần": "online",
    "Qua mạng": "online", "Dịch vụ công trực tuyến": "online", "DVC trực tuyến": "online", "Online": "online",
    "Trực tiếp": "direct", "Tại bộ phận một cửa": "direct", "Nộp trực tiếp": "direct",
    "Bưu chính": "post", "Bưu chính công ích": "post", "Qua bưu chính": "post", "Qua bưu điện": "post",
}

BOOLEAN_VALUES: dict[str, bool] = {
    "Có": True, "Đã": True, "x": True, "1": True, "TRUE": True, "Yes": True, "Đã số hóa": True,
    "Đã thanh toán": True, "Đã thanh toán trực tuyến": True, "v": True,
    "Không": False, "Chưa": False, "0": False, "FALSE": False, "No": False, "Chưa số hóa": False,
    "Chưa thanh toán": False,
}

# TrangThaiDongBoDVC and the words exports use for it; anything else is a rejected row, never a guess
SYNC_VALUES: dict[str, bool] = {
    "1": True, "0": False, "Đã đồng bộ": True, "Chưa đồng bộ": False, "Đồng bộ thành công": True,
    "Đồng bộ lỗi": False, "Lỗi đồng bộ": False, "Có": True, "Không": False, "Đã": True, "Chưa": False,
}
PORTAL_SYSTEM = "DVCQG"  # the system a portal sync record comes from; a tabular export's is its "Hệ thống"

VALUE_KINDS: dict[str, tuple[object, ...]] = {
    "status": STATUSES,
    "channel": CHANNELS,
    "boolean": (True, False),
    "sync": (True, False),
}

"""Every text a worker or officer reads, in Vietnamese, in one place.

Rules for this file: one idea a message, plain words a worker uses on the shop floor, the
step's emoji first so a step is recognisable without reading, and an example wherever the
question could be misunderstood. Address the user as "anh/chị".
"""

from __future__ import annotations

import datetime as dt

from dialogs.state import BenefitKind, FieldOfWork, IdeaStatus, Step

WELCOME = "👋 Xin chào! Hộp thư sáng kiến Công đoàn đây. Gõ hay nói đều được."

PROMPTS: dict[Step, str] = {
    Step.ONBOARD_UNIT: "🏭 Mã công đoàn nhà máy là gì?\nVí dụ HN-DM01, có trên bảng tin công đoàn.",
    Step.ONBOARD_NAME: "👤 Anh/chị tên là gì?",
    Step.MENU: "🏠 {name} ơi, anh/chị muốn làm gì?",
    Step.PICK_DRAFT: "📝 Chọn bản nháp để làm tiếp:",
    Step.RESUME: "🔁 Anh/chị đang viết dở: «{title}». Làm tiếp nhé?",
    Step.PROBLEM: (
        "⚠️ Trước đây, khó khăn hay lãng phí là gì?\nVí dụ: Máy hay kẹt vải, mỗi ca dừng 30 phút."
    ),
    Step.SOLUTION: "💡 Anh/chị đã thay đổi gì?\nVí dụ: Gắn thêm thanh dẫn vải trước lưỡi cắt.",
    Step.BENEFIT_KIND: "🎯 Thay đổi đó được lợi gì nhất?",
    Step.FIELD: "🗂️ Việc này thuộc mảng nào?",
    Step.APPLIED: "📅 Đã làm theo cách mới chưa?\nNhớ ngày bắt đầu thì gõ ngày, ví dụ: 15/3/2026.",
    Step.COAUTHORS: "🤝 Có ai cùng làm không?\nGõ tên từng người, cách nhau dấu phẩy.",
    Step.SUMMARY: "📋 Xem lại sáng kiến:\n\n{summary}\n\nGửi đi nhé?",
    Step.EDIT_PICK: "✏️ Anh/chị muốn sửa phần nào?",
    Step.REVIEW_CARD: "{card}\n\nSáng kiến này thế nào?",
    Step.REVIEW_PART: "↩️ Trả lại để sửa phần nào?",
    Step.REVIEW_REASON: "✍️ Lý do là gì? Gõ hoặc nói ngắn gọn, người gửi sẽ đọc.",
    Step.REVIEW_DUPLICATE: "🔁 Sáng kiến này lặp lại sáng kiến nào?",
    Step.ASSIST_FIND: "🔎 Nhập hộ cho ai? Gõ tên hoặc số điện thoại của người đó.",
    Step.ASSIST_PICK: "👥 Chọn người anh/chị nhập hộ:",
    Step.ASSIST_NEW_NAME: "👤 Người đó tên là gì? Gõ họ và tên.",
    Step.ASSIST_NEW_UNIT: "🏭 {name} ở công đoàn cơ sở nào? Gõ mã, ví dụ HN-DM01.",
    Step.ASSIST_NEW_PHONE: "📱 Số điện thoại của {name}? Để lần sau tìm cho nhanh.",
    Step.ASSIST_AGREED: "🤝 Anh/chị đã đọc lại cho {name} nghe và {name} đồng ý chưa?",
    Step.CONFIRM_OWN: "📨 Cán bộ {officer} đã ghi hộ sáng kiến này:\n\n{summary}\n\n"
    "Đúng là ý tưởng của anh/chị?",
}

BENEFIT_DETAIL_PROMPTS: dict[BenefitKind, str] = {
    BenefitKind.TIME: "⏱️ Tiết kiệm được bao nhiêu thời gian?\nVí dụ: 30 phút mỗi ca.",
    BenefitKind.MONEY: (
        "💰 Làm lợi khoảng bao nhiêu tiền một năm?\n"
        "Ví dụ: 5 triệu, 500 nghìn một tháng, hoặc «chưa rõ»."
    ),
    BenefitKind.SAFETY: "🦺 An toàn hơn thế nào?\nVí dụ: Không còn bị kẹp tay khi thay dao.",
    BenefitKind.QUALITY: (
        "✅ Chất lượng tốt hơn thế nào?\nVí dụ: Hàng lỗi giảm từ 5 xuống 1 trên 100 cái."
    ),
    BenefitKind.ENVIRONMENT: "🌿 Môi trường được lợi gì?\nVí dụ: Bớt 20 kg vải vụn mỗi tuần.",
    BenefitKind.OTHER: "➕ Lợi ích đó là gì? Kể ngắn gọn nhé.",
}

HELP: dict[Step, str] = {
    Step.START: "❓ Gõ bất kỳ chữ gì để bắt đầu.",
    Step.ONBOARD_UNIT: (
        "❓ Mỗi công đoàn cơ sở có một mã ngắn, ví dụ HN-DM01. "
        "Cán bộ công đoàn hoặc bảng tin nhà máy có mã này."
    ),
    Step.ONBOARD_NAME: "❓ Gõ họ và tên, ví dụ: Nguyễn Thị Lan. Tên sẽ ghi vào sáng kiến.",
    Step.MENU: (
        "❓ Chọn 1 để gửi sáng kiến mới, 2 để làm tiếp bản nháp, 3 để xem sáng kiến của mình."
    ),
    Step.PICK_DRAFT: "❓ Chọn số của bản nháp muốn làm tiếp.",
    Step.RESUME: "❓ Chọn 1 để làm tiếp bản nháp, 2 để viết sáng kiến khác (nháp vẫn giữ).",
    Step.PROBLEM: (
        "❓ Kể việc gì trước đây làm mất thời gian, tốn tiền hay nguy hiểm. "
        "Ví dụ: Phải đi bộ xa để lấy phụ liệu, mỗi ngày mất 1 tiếng."
    ),
    Step.SOLUTION: (
        "❓ Kể anh/chị đã làm gì khác đi. Ví dụ: Đặt kệ phụ liệu ngay cạnh chuyền may."
    ),
    Step.BENEFIT_KIND: "❓ Chọn lợi ích lớn nhất. Lợi ích khác kể ở câu sau cũng được.",
    Step.BENEFIT_DETAIL: (
        "❓ Kể lợi ích cụ thể, có con số càng tốt. Ví dụ: 30 phút mỗi ca, 5 triệu một năm."
    ),
    Step.FIELD: "❓ Chọn mảng việc gần nhất. Không chắc thì chọn «Khác».",
    Step.APPLIED: "❓ Chọn 1 nếu đã làm theo cách mới, 2 nếu mới là ý tưởng. Hoặc gõ ngày.",
    Step.COAUTHORS: "❓ Gõ tên những người cùng nghĩ ra hoặc cùng làm. Không có thì chọn 1.",
    Step.SUMMARY: "❓ Chọn 1 để gửi, 2 để sửa một phần, 3 để lưu nháp gửi sau.",
    Step.EDIT_PICK: "❓ Chọn số của phần muốn sửa. Sửa xong sẽ quay lại bản xem lại.",
    Step.REVIEW_CARD: (
        "❓ Hợp lệ: chuyển đi tiếp. Trả lại: người gửi sửa rồi gửi lại. "
        "Không hợp lệ: dừng hẳn. Bỏ qua: xem cái sau."
    ),
    Step.REVIEW_PART: "❓ Chọn phần cần sửa. Người gửi sẽ mở đúng phần đó.",
    Step.REVIEW_REASON: "❓ Viết lý do để người gửi hiểu cần làm gì.",
    Step.ASSIST_FIND: "❓ Gõ vài chữ của tên, ví dụ «Văn An», hoặc số điện thoại.",
    Step.ASSIST_PICK: "❓ Chọn đúng người. Không có thì chọn «Thêm người mới».",
    Step.ASSIST_NEW_NAME: "❓ Gõ họ tên đầy đủ, ví dụ: Nguyễn Văn An.",
    Step.ASSIST_NEW_UNIT: "❓ Mã công đoàn cơ sở nơi người đó làm, ví dụ HN-DM01.",
    Step.ASSIST_NEW_PHONE: "❓ Gõ số điện thoại, ví dụ 0912345678. Không có thì chọn «Bỏ qua».",
    Step.ASSIST_AGREED: "❓ Chỉ gửi khi người đó đã nghe lại và đồng ý. Chưa thì lưu nháp.",
    Step.CONFIRM_OWN: "❓ Chọn 1 nếu đúng là ý tưởng của anh/chị, 2 nếu không phải.",
    Step.STUCK: "❓ Chọn 1 nghe lại ví dụ, 2 lưu nháp làm sau, 3 nhờ cán bộ ghi hộ.",
    Step.SIMILAR: "❓ Ý khác thì chọn 1 để gửi. Cùng một ý thì chọn 2, cán bộ sẽ xem.",
    Step.REVIEW_DUPLICATE: "❓ Chọn sáng kiến đã có mà sáng kiến này lặp lại.",
    Step.RECORD: "❓ Giữ nút micro, đọc đúng câu chữ, chỗ yên tĩnh. /ghiam SỐ: ghi lại một câu.",
    Step.RECORD_CHECK: "❓ Máy nghe khác câu chữ. Nghe lại ghi âm: đúng thì lưu, sai thì ghi lại.",
}

HELP_GENERAL = (
    "❓ Cách dùng:\n"
    "• Trả lời từng câu hỏi, gõ chữ hoặc gửi ghi âm.\n"
    "• Chọn bằng nút bấm, hoặc gõ số.\n"
    "• Gõ «quay lại» để về câu trước, «hủy» để dừng (nháp vẫn giữ), «menu» để về đầu."
)

NAV_HINT = "↩️ quay lại · ⏸️ hủy · ❓ trợ giúp"

# Option labels. Keep them short: they are buttons on Telegram.
MENU_NEW = "✍️ Gửi sáng kiến mới"
MENU_DRAFTS = "📝 Bản nháp ({count})"
MENU_SUBMITTED = "📋 Sáng kiến của tôi"
MENU_HELP = "❓ Hướng dẫn"
BACK_TO_MENU = "🏠 Về menu"
RESUME_CONTINUE = "▶️ Làm tiếp"
RESUME_NEW = "✍️ Viết sáng kiến khác"
APPLIED_YES = "✅ Đã áp dụng"
APPLIED_NO = "⏳ Chưa áp dụng"
NO_COAUTHORS = "🙅 Không có ai"
SUMMARY_SEND = "📤 Gửi đi"
SUMMARY_EDIT = "✏️ Sửa"
SUMMARY_LATER = "💾 Để sau"
EDIT_DONE = "📋 Không sửa nữa"
NAV_BACK = "↩️ Quay lại"
NAV_CANCEL = "⏸️ Hủy"
NAV_HELP = "❓ Trợ giúp"

BENEFIT_LABELS: dict[BenefitKind, str] = {
    BenefitKind.TIME: "⏱️ Tiết kiệm thời gian",
    BenefitKind.MONEY: "💰 Làm lợi, tiết kiệm tiền",
    BenefitKind.SAFETY: "🦺 An toàn hơn",
    BenefitKind.QUALITY: "✅ Chất lượng tốt hơn",
    BenefitKind.ENVIRONMENT: "🌿 Bảo vệ môi trường",
    BenefitKind.OTHER: "➕ Lợi ích khác",
}

FIELD_LABELS: dict[FieldOfWork, str] = {
    FieldOfWork.PRODUCTION: "⚙️ Kỹ thuật, sản xuất",
    FieldOfWork.SAFETY: "🦺 An toàn lao động",
    FieldOfWork.SAVING: "🔌 Tiết kiệm điện, vật tư",
    FieldOfWork.QUALITY: "✅ Chất lượng sản phẩm",
    FieldOfWork.MANAGEMENT: "🗃️ Quản lý, tổ chức",
    FieldOfWork.ENVIRONMENT: "🌿 Môi trường",
    FieldOfWork.OTHER: "➕ Khác",
}

EDIT_LABELS: dict[Step, str] = {
    Step.PROBLEM: "⚠️ Khó khăn",
    Step.SOLUTION: "💡 Cách làm",
    Step.BENEFIT_KIND: "🎯 Lợi ích",
    Step.FIELD: "🗂️ Mảng việc",
    Step.APPLIED: "📅 Áp dụng",
    Step.COAUTHORS: "🤝 Người cùng làm",
}

STATUS_LABELS: dict[IdeaStatus, str] = {
    IdeaStatus.DRAFT: "📝 Nháp",
    IdeaStatus.SUBMITTED: "⏳ Đã gửi, chờ xem xét",
    IdeaStatus.UNDER_REVIEW: "🔎 Đang xem xét",
    IdeaStatus.VALID: "🏅 Được công nhận",
    IdeaStatus.RETURNED: "↩️ Cần bổ sung",
    IdeaStatus.REJECTED: "❌ Chưa được công nhận",
    IdeaStatus.AWAITING_AUTHOR: "📨 Chờ anh/chị xác nhận",
    IdeaStatus.WITHDRAWN: "🚫 Đã rút lại",
    IdeaStatus.DUPLICATE: "🔁 Trùng ý đã có",
}
RETURNED_MARK = "↩️"

# --- officers ------------------------------------------------------------------------------
MENU_REVIEW = "🗂️ Duyệt sáng kiến"
MENU_ASSIST = "✍️ Nhập hộ công nhân"
MENU_CONFIRM = "📨 Xác nhận sáng kiến ({count})"
REVIEW_VALID = "✅ Hợp lệ"
REVIEW_RETURN = "↩️ Trả lại"
REVIEW_REJECT = "❌ Không hợp lệ"
REVIEW_SKIP = "⏭️ Bỏ qua"
REVIEW_WHOLE = "📋 Cả bài"
REVIEW_LISTEN = "🔊 Nghe ghi âm"
RECORDING = "🔊 {part} · {seconds} giây"
RECORDING_GONE = "🔇 Bản ghi âm này không còn."
REVIEW_AGAIN = "🗂️ Sáng kiến số {id}: anh/chị thấy thế nào?"
OFFICERS_ONLY = "⛔ Việc này chỉ dành cho cán bộ công đoàn."
WEB_LINK = (
    "🌐 Trang web cán bộ: {url}\nLink dùng một lần, trong 15 phút. Không chuyển cho người khác."
)
WEB_NOT_SET = "🌐 Trang web cán bộ chưa được bật. Nhờ người quản trị bật giúp."
WEB_TOO_MANY = "⏳ Anh/chị vừa xin nhiều link. Thử lại sau 15 phút."
QUEUE_EMPTY = "📭 Không còn sáng kiến nào chờ duyệt."
DECIDED_VALID = "✅ Đã ghi: hợp lệ."
DECIDED_RETURNED = "↩️ Đã trả lại cho người gửi."
DECIDED_REJECTED = "❌ Đã ghi: không hợp lệ."
DECIDED_TAKEN = "👥 Sáng kiến này đã có người duyệt."
DECIDED_FORBIDDEN = "⛔ Sáng kiến này không thuộc đơn vị của anh/chị."
REASON_NEEDED = "✍️ Anh/chị ghi lý do bằng vài chữ nhé."
INVITE_USAGE = "🔑 Gõ /canbo và mã mời, ví dụ: /canbo K7QM-2XPA"
INVITE_BAD = "🔑 Mã mời không đúng, đã dùng hoặc hết hạn. Anh/chị xin mã mới nhé."
INVITE_OK = "🎖️ Anh/chị là cán bộ công đoàn của «{unit}». Gõ /duyet để duyệt sáng kiến."
NEED_UNIT_FIRST = "🏭 Để gửi sáng kiến, cho tôi biết công đoàn cơ sở nơi anh/chị làm."
WAITING_NOTICE = "📥 {count} sáng kiến mới chờ duyệt. Gõ /duyet để xem."
CARD = "🗂️ Sáng kiến số {id} · {level}\n👤 {author} · {unit}\n📅 Gửi ngày {date}\n\n{summary}"
CARD_ENTERED_BY = "✍️ Cán bộ {name} nhập hộ · {confirmed}"
CARD_CONFIRMED_AUTHOR = "tác giả đã xác nhận"
CARD_CONFIRMED_OFFICER = "cán bộ xác nhận tác giả đồng ý"
CARD_HISTORY = "🧾 Đã duyệt: {history}"
CARD_SOURCES = "🎤 Nói: {voice}"
CARD_SIMILAR = "🔁 Giống sáng kiến đã có:\n{lines}"
CARD_SIMILAR_LINE = "• {how} ({percent}%): số {id} «{title}» · {unit} · {status}"
SIMILAR_VERY = "rất giống"
SIMILAR_RELATED = "gần giống"
CARD_DOUBT = "❔ Máy nghe chưa rõ: {parts}. Nên nghe lại ghi âm."
LEVEL_NAMES = {
    "grassroots": "cấp cơ sở",
    "district": "cấp trên cơ sở",
    "province": "cấp tỉnh, ngành",
    "national": "cấp Tổng Liên đoàn",
}
DECISION_NAMES = {
    "valid": "hợp lệ",
    "returned": "trả lại",
    "rejected": "không hợp lệ",
    "duplicate": "trùng ý đã có",
}
REVIEW_DUPLICATE = "🔁 Trùng ý đã có"
DECIDED_DUPLICATE = "🔁 Đã ghi: trùng ý đã có. Người gửi được báo."
TOLD_DUPLICATE = (
    "🔁 Sáng kiến «{title}» giống sáng kiến số {of} «{other}» đã có, nên không tính riêng. "
    "Cảm ơn anh/chị! Có thể xin cùng làm ý đó với cán bộ."
)
# What the author is told.
TOLD_VALID_NEXT = "✅ Sáng kiến «{title}» đạt {level}, đã chuyển lên {next}."
TOLD_VALID = "🏅 Sáng kiến «{title}» được công nhận hợp lệ. Cảm ơn anh/chị!"
TOLD_RETURNED = (
    "↩️ Sáng kiến «{title}» cần sửa phần {part}.\nLý do: {reason}\n"
    "Chọn «Bản nháp» ở menu để sửa rồi gửi lại."
)
TOLD_RETURNED_HELPED = "Cán bộ đã nhập hộ sẽ cùng anh/chị sửa."
TOLD_REJECTED = "❌ Sáng kiến «{title}» chưa được công nhận.\nLý do: {reason}"

# --- entering ideas for workers ("nhập hộ") -------------------------------------------------
ASSIST_PICK_NEW = "➕ Thêm người mới"
ASSIST_SEARCH_AGAIN = "🔎 Tìm lại"
ASSIST_NONE_FOUND = "🔎 Không thấy ai tên hay số «{query}» trong đơn vị của anh/chị."
ASSIST_QUERY_SHORT = "🔎 Gõ ít nhất 2 chữ của tên, hoặc số điện thoại."
ASSIST_UNIT_OUTSIDE = "🏭 Mã «{code}» không phải công đoàn cơ sở anh/chị phụ trách."
ASSIST_PHONE_INVALID = "📱 Số chưa đúng. Ví dụ: 0912345678. Không có thì chọn «Bỏ qua»."
ASSIST_PHONE_TAKEN = "📱 Số này đã có người dùng. Chọn «Tìm lại» để tìm người đó."
ASSIST_SKIP = "⏭️ Bỏ qua"
ASSIST_ADDED = "✅ Đã thêm {name}."
ASSIST_START = "✍️ Nhập hộ {name}. Hỏi từng câu và ghi đúng lời người đó nhé."
ASSIST_FOR = "✍️ Nhập hộ: {name} · {unit}"
ASSIST_GONE = "⛔ {name} không còn thuộc đơn vị anh/chị phụ trách. Chưa gửi được."
ASSIST_ASKED = "📨 Đã nhờ {name} xác nhận. {name} trả lời «Đúng» là sáng kiến vào hàng chờ duyệt."
ASSIST_SENT = "🎉 Đã gửi sáng kiến «{title}» của {name}. Cán bộ sẽ xem và báo kết quả."
ASSIST_NOT_YET = "💾 Đã lưu nháp. Đọc lại cho {name} nghe rồi gửi sau nhé."
ASSIST_AGREED_YES = "✅ Đã đồng ý"
ASSIST_AGREED_NO = "⏳ Chưa"
CONFIRM_YES = "✅ Đúng, của tôi"
CONFIRM_NO = "❌ Không phải"
CONFIRM_THANKS = "🙏 Cảm ơn anh/chị! Sáng kiến «{title}» đã vào hàng chờ duyệt."
CONFIRM_WITHDRAWN = "🚫 Đã rút lại «{title}». Cảm ơn anh/chị đã báo."
CONFIRM_DONE_ALREADY = "👌 Sáng kiến này đã được trả lời rồi."
# What the officer who entered it is told.
TOLD_CONFIRMED = "✅ {name} xác nhận sáng kiến «{title}». Đã vào hàng chờ duyệt."
TOLD_DENIED = "🚫 {name} nói «{title}» không phải ý tưởng của mình. Sáng kiến đã rút lại."

UNIT_NOT_FOUND = "🏭 Không tìm thấy mã «{code}». Anh/chị xem lại, hoặc hỏi cán bộ công đoàn nhé."
UNIT_NOT_A_CODE = (
    "🏭 Đó chưa phải mã công đoàn. Mã giống HN-DM01, ghi trên bảng tin. "
    "Chưa biết thì hỏi cán bộ nhé."
)
UNIT_SUGGEST = "🏭 Không có mã «{code}». Có phải: {codes}? Không chắc thì hỏi cán bộ công đoàn."
UNIT_NOT_GRASSROOTS = (
    "🏭 «{name}» là công đoàn cấp trên. Anh/chị cần mã công đoàn cơ sở nơi mình làm."
)
UNIT_OK = "✅ {name}."
NAME_INVALID = "👤 Anh/chị gõ họ tên nhé. Ví dụ: Nguyễn Thị Lan."
NAME_OK = "🤝 Rất vui được gặp {name}!"

EMPTY_ANSWER = "✍️ Anh/chị chưa gõ gì. Gõ chữ hoặc gửi ghi âm nhé."
TOO_SHORT = "✍️ Anh/chị kể rõ hơn một chút nhé, vài chữ là được."
TOO_LONG = "✍️ Dài quá. Anh/chị viết gọn lại, hoặc chia làm mấy câu nhé."
SAME_AS_PROBLEM = "🔁 Câu này là khó khăn ở trên rồi. 💡 Anh/chị đã thay đổi gì?"
NEED_WORDS: dict[Step, str] = {
    Step.PROBLEM: "✍️ Kể bằng vài chữ nhé. Ví dụ: Máy hay kẹt chỉ, phải dừng máy.",
    Step.SOLUTION: "✍️ Kể bằng vài chữ nhé. Ví dụ: Lắp thêm đèn ở bàn kiểm hàng.",
}
BENEFIT_UNCLEAR = "📈 Anh/chị kể lợi ích bằng vài chữ hoặc con số nhé. Ví dụ: 30 phút mỗi ca."
MONEY_SIGNED = "💰 Số tiền làm lợi không có dấu trừ, cộng. Gõ lại số, ví dụ: 5 triệu một năm."
MONEY_TOO_LARGE = "💰 Số tiền lớn quá. Anh/chị xem lại nhé, ví dụ: 5 triệu một năm."
MONEY_UNDERSTOOD = "💰 Tôi hiểu là: {amount}."
TIME_UNDERSTOOD = "⏱️ Tôi hiểu là: {amount}."
COAUTHORS_NAMES = "🤝 Anh/chị gõ tên người cùng làm nhé, cách nhau dấu phẩy."
SUMMARY_NOT_SENT = "📋 Chưa gửi. Anh/chị chọn Sửa hoặc Để sau nhé."
RESUME_WHICH = "🔁 Anh/chị chọn 2 để viết cái khác, 3 để về menu nhé."
AMBIGUOUS = "🤔 Ý anh/chị là cái nào: {choices}?"
GREETING_BACK = "👋 Chào {name}! Mình đang ở câu: {where}."
THANKS_BACK = "😊 Không có gì! Mình đang ở câu: {where}."
UNKNOWN_COMMAND = "⌨️ Không có lệnh «{command}». Dùng /menu, /help hoặc trả lời câu hỏi nhé."
TRY_AGAIN = "⚠️ Máy đang bận, chưa lưu được. Anh/chị gửi lại sau ít phút nhé."
VOICE_WRONG = "🎤 Vậy anh/chị nói lại hoặc gõ lại nhé."
NOT_A_CHOICE = "🔢 Anh/chị chọn {numbers} nhé."
STALE_BUTTON = "🔘 Nút đó đã cũ. Anh/chị chọn ở tin nhắn mới nhất nhé."
DATE_INVALID = "📅 Ngày chưa đúng. Ví dụ: 15/3/2026. Hoặc trả lời «rồi» hay «chưa»."
AT_FIRST_QUESTION = "↩️ Đây là câu đầu rồi."
NO_SUCH_BUTTON = "⚠️ Câu hỏi vừa rồi không có nút {number}."
NO_SUCH_FILE = "⚠️ Không mở được tệp ghi âm {path}."

UNSUPPORTED: dict[str, str] = {
    "sticker": "🙂 Cảm ơn anh/chị! Tôi chỉ đọc được chữ và ghi âm thôi.",
    "photo": "🖼️ Tôi chưa xem được ảnh. Anh/chị gõ chữ hoặc gửi ghi âm nhé.",
    "video": "🎬 Tôi chưa xem được video. Anh/chị gõ chữ hoặc gửi ghi âm nhé.",
    "edited": "✏️ Tôi không đọc được tin đã sửa. Anh/chị gửi lại thành tin mới nhé.",
    "location": "📍 Cảm ơn! Tôi chưa đọc được vị trí. Anh/chị gõ chữ hoặc gửi ghi âm nhé.",
    "contact": "📇 Tôi chưa đọc được danh bạ. Anh/chị gõ chữ hoặc gửi ghi âm nhé.",
}
UNSUPPORTED_OTHER = "📎 Tôi chưa đọc được nội dung này. Anh/chị gõ chữ hoặc gửi ghi âm nhé."

VOICE_PROBLEMS: dict[str, str] = {
    "unavailable": "🎤 Tôi chưa nghe được ghi âm. Anh/chị gõ chữ giúp tôi nhé.",
    "empty": "🎤 Ghi âm trống. Anh/chị giữ nút micro rồi nói nhé.",
    "silent": "🎤 Ghi âm không có tiếng. Anh/chị nói to hơn, gần điện thoại nhé.",
    "corrupt": "🎤 Tôi không mở được ghi âm này. Anh/chị ghi âm lại nhé.",
    "too_long": "🎤 Ghi âm hơi dài, anh/chị nói ngắn hơn {minutes} phút nhé.",
    "too_large": "🎤 Ghi âm hơi dài, anh/chị nói ngắn hơn {minutes} phút nhé.",
    "unclear": "🎤 Tôi chưa nghe rõ. Anh/chị nói lại gần điện thoại hơn, hoặc gõ chữ nhé.",
}
FLOOD_SKIPPED = "⏳ Anh/chị gửi nhanh quá: tôi bỏ qua {count} tin gửi dồn, chỉ đọc tin cuối."
VOICE_HEARD = "🎤 Tôi nghe được: «{text}»\nĐúng chưa?"
VOICE_DOUBT_HINT = "Chữ có dấu (?) là tôi nghe chưa rõ, anh/chị xem lại nhé."
VOICE_YES = "✅ Đúng"
VOICE_AGAIN = "🎤 Nói lại"
VOICE_TYPE = "⌨️ Gõ lại"
VOICE_SAY_AGAIN = "🎤 Anh/chị nói lại nhé, chậm và gần điện thoại."
VOICE_TYPE_INSTEAD = "⌨️ Anh/chị gõ câu trả lời nhé."
VOICE_NOT_A_CHOICE = "🎤 Tôi nghe được «{text}», nhưng chưa rõ anh/chị chọn gì."
LISTENING = "🎧 Đang nghe…"
LONG_STORY = "📝 Tôi đã ghi lại cả câu chuyện. Còn vài câu ngắn nữa thôi."

GROUP_USAGE = "👥 Gõ /nhom và mã đơn vị, ví dụ: /nhom HN-DM01"
GROUP_UNKNOWN_UNIT = "👥 Không tìm thấy mã «{code}»."
GROUP_NOT_OFFICER = "⛔ Chỉ cán bộ công đoàn của «{unit}» mới đăng ký được nhóm này."
GROUP_REGISTERED = "✅ Nhóm này sẽ nhận bảng xếp hạng sáng kiến mỗi thứ Sáu của «{unit}»."
GROUP_BOUND_ELSEWHERE = (
    "⛔ Nhóm này đang nhận bảng xếp hạng của «{unit}». Chỉ cán bộ đơn vị đó mới chuyển được."
)
GROUP_MOVED = (
    "👥 Một nhóm của đơn vị đã chuyển sang nhận bảng xếp hạng của «{unit}» (cán bộ {officer})."
)

CANCELLED = "⏸️ Đã dừng. Bản nháp vẫn được giữ, lúc nào cũng làm tiếp được."
CANCELLED_ONBOARDING = "⏸️ Đã dừng. Nhắn bất kỳ lúc nào để làm tiếp."
SAVED_FOR_LATER = "💾 Đã lưu bản nháp. Lúc rảnh, chọn «Bản nháp» để làm tiếp."
NO_DRAFTS = "📝 Anh/chị chưa có bản nháp nào."
NO_SUBMITTED = "📋 Anh/chị chưa gửi sáng kiến nào. Gửi cái đầu tiên nhé!"
SUBMITTED_HEADER = "📋 Sáng kiến của anh/chị:"
SUBMITTED = (
    "🎉 Cảm ơn {name}! Đã gửi sáng kiến «{title}».\nCán bộ công đoàn sẽ xem và báo kết quả tại đây."
)

SUMMARY_LINES = {
    "problem": "⚠️ Khó khăn: {value}",
    "solution": "💡 Cách làm: {value}",
    "benefit": "🎯 Lợi ích: {value}",
    "field": "🗂️ Mảng việc: {value}",
    "applied": "📅 Áp dụng: {value}",
    "co_authors": "🤝 Cùng làm: {value}",
}
MISSING = "(chưa có)"
APPLIED_SINCE = "Đã áp dụng từ {date}"
APPLIED_YES_TEXT = "Đã áp dụng"
APPLIED_NO_TEXT = "Chưa áp dụng"
NOBODY = "Không có"
VND = "{amount} đồng"


# What each step is, in a few words: the reminder after a greeting, and the diagram.
STEP_TITLES: dict[Step, str] = {
    Step.START: "👋 Lời chào",
    Step.ONBOARD_UNIT: "🏭 Mã công đoàn cơ sở",
    Step.ONBOARD_NAME: "👤 Họ tên",
    Step.MENU: "🏠 Menu",
    Step.PICK_DRAFT: "📝 Chọn bản nháp",
    Step.RESUME: "🔁 Làm tiếp nháp?",
    Step.PROBLEM: "⚠️ Khó khăn trước đây",
    Step.SOLUTION: "💡 Cách làm mới",
    Step.BENEFIT_KIND: "🎯 Loại lợi ích",
    Step.BENEFIT_DETAIL: "📈 Lợi ích cụ thể",
    Step.FIELD: "🗂️ Mảng việc",
    Step.APPLIED: "📅 Đã áp dụng?",
    Step.COAUTHORS: "🤝 Người cùng làm",
    Step.SUMMARY: "📋 Xem lại và gửi",
    Step.EDIT_PICK: "✏️ Sửa phần nào",
    Step.REVIEW_CARD: "🗂️ Duyệt sáng kiến",
    Step.REVIEW_PART: "↩️ Phần cần sửa",
    Step.REVIEW_REASON: "✍️ Lý do",
    Step.ASSIST_FIND: "🔎 Tìm người nhập hộ",
    Step.ASSIST_PICK: "👥 Chọn người",
    Step.ASSIST_NEW_NAME: "👤 Tên người mới",
    Step.ASSIST_NEW_UNIT: "🏭 Công đoàn của người mới",
    Step.ASSIST_NEW_PHONE: "📱 Số điện thoại",
    Step.ASSIST_AGREED: "🤝 Người đó đồng ý chưa?",
    Step.CONFIRM_OWN: "📨 Xác nhận sáng kiến nhập hộ",
    Step.STUCK: "🤔 Chưa nghĩ ra",
    Step.SIMILAR: "🔎 Ý giống đã có",
    Step.REVIEW_DUPLICATE: "🔁 Trùng với sáng kiến nào",
    Step.RECORD: "🎙️ Ghi âm câu hỏi",
    Step.RECORD_CHECK: "🎧 Ghi âm khác câu chữ",
}


def address(name: str | None) -> str:
    """How to call someone: by the given name, the last word ("Nguyễn Thị Lan" → "Lan")."""
    words = (name or "").split()
    return words[-1] if words else "Anh/chị"


def choices_hint(count: int) -> str:
    """ "1, 2 hoặc 3" for three options; used where choices cannot be buttons."""
    numbers = [str(n) for n in range(1, count + 1)]
    if count <= 1:
        return "1"
    return ", ".join(numbers[:-1]) + " hoặc " + numbers[-1]


def reply_with_number(count: int) -> str:
    """The line under numbered choices on channels without buttons (Zalo, terminal)."""
    return f"👉 Trả lời {choices_hint(count)}."


def format_date(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def format_vnd(amount: int) -> str:
    """3500000 → "3.500.000 đồng", the way amounts are written in Vietnam."""
    return VND.format(amount=f"{amount:,}".replace(",", "."))


def format_money(amount: int, period: str, per_year: int) -> str:
    """ "3.500.000 đ/tháng ≈ 42.000.000 đ/năm"; a yearly figure alone when given per year."""
    yearly = f"{per_year:,}".replace(",", ".") + " đ/năm"
    if period == "năm":
        return yearly
    return f"{amount:,}".replace(",", ".") + f" đ/{period} ≈ {yearly}"


def format_time(amount: object, unit: str, per: str | None) -> str:
    """ "30 phút/ca", "1 giờ/ngày", "20 phút"."""
    text = f"{amount} {unit}".replace(".", ",")
    return f"{text}/{per}" if per else text


def format_choices(labels: list[str]) -> str:
    """ "1. ⏱️ Tiết kiệm thời gian hay 2. 💰 Làm lợi" for the options a word could mean."""
    return " hay ".join(labels)


def strip_emoji_label(label: str) -> str:
    """A label without its leading emoji, for use inside sentences."""
    head, _, rest = label.partition(" ")
    return rest if rest and not any(ch.isalnum() for ch in head) else label


# --- weekly ranking (posted in union groups) ------------------------------------------------

RANKING_TITLE = "🏆 Xếp hạng sáng kiến tuần {week}"
RANKING_PICTURE_TITLE = "Xếp hạng sáng kiến tuần {week}"  # in the picture: no emoji font
RANKING_OF = "Các đơn vị thuộc «{unit}»"
RANKING_LINE = "{mark}{rank}. {name}: {valid} hợp lệ{share}{change}"
RANKING_SHARE = ", {percent}% chỉ tiêu"
RANKING_NEW = "🆕 Tuần này có {count} sáng kiến mới."
RANKING_OWN = "📍 Đơn vị mình: hạng {rank}/{of}{change}."
RANKING_UP = ", tăng {n} bậc so với tuần trước"
RANKING_DOWN = ", giảm {n} bậc so với tuần trước"
RANKING_SAME = ", giữ nguyên hạng"

# --- reminders ----------------------------------------------------------------------------

OFFICER_DAY = "☀️ Việc sáng kiến hôm nay:"
OFFICER_WAITING = "📥 {count} sáng kiến chờ duyệt, lâu nhất {days} ngày. Gõ /duyet để xem."
OFFICER_STALLED = "✏️ {count} bản nháp bỏ dở quá {days} ngày ở «{unit}»."
OFFICER_PACE = "📈 «{unit}»: {valid}/{target} hợp lệ ({percent}%), còn {days_left} ngày."
WORKER_NUDGE = (
    "⏰ Sáng kiến «{title}» còn dở. Nhắn bất kỳ để làm tiếp.\nKhông muốn nhắc nữa thì gõ «dừng»."
)
WORKER_NUDGE_UNTITLED = (
    "⏰ Sáng kiến của anh/chị còn dở. Nhắn bất kỳ để làm tiếp.\nKhông muốn nhắc nữa thì gõ «dừng»."
)
# --- the bot speaks: clips, help for a worker who is stuck, recording a pack ----------------
MENU_HEAR_ON = "🔊 Nghe câu hỏi"
MENU_HEAR_OFF = "🔇 Tắt đọc câu hỏi"
HEAR_ON = "🔊 Từ giờ tôi đọc câu hỏi cho anh/chị nghe. Không cần thì nói «tắt tiếng»."
HEAR_OFF = "🔇 Đã tắt đọc. Muốn nghe lại thì nói «đọc cho tôi nghe»."
CLIP_LINK = "🔊 Nghe câu hỏi: {url}"
STUCK = "🤔 Khó nghĩ ra cũng không sao. Anh/chị muốn làm gì?"
STUCK_EXAMPLE = "🔁 Nghe lại ví dụ"
STUCK_OFFICER = "🙋 Nhờ cán bộ giúp"
HELP_ASKED = "🙋 Đã báo cán bộ công đoàn. Cán bộ sẽ liên hệ giúp anh/chị. Nháp vẫn giữ."
HELP_ASKED_NO_OFFICER = (
    "🙋 Chưa có cán bộ nào nhận tin qua bot. Nháp vẫn giữ, anh/chị hỏi trực tiếp nhé."
)
OFFICER_HELP_NEEDED = (
    "🙋 {name} ({unit}) cần giúp ở câu «{question}».\nChọn «Nhập hộ công nhân» ở menu để ghi hộ."
)
RECORD_INTRO = "🎙️ Ghi âm câu hỏi cho «{unit}». Đọc to, rõ từng câu rồi gửi ghi âm."
RECORD_ASK = "🎙️ {number}/{total} · Đọc câu này rồi gửi ghi âm:\n\n{said}"
RECORD_KEPT = "✅ Đã lưu câu {number}."
RECORD_MISMATCH = "🎧 Tôi nghe được «{heard}» — khác câu chữ. Ghi lại?"
RECORD_KEEP = "💾 Vẫn lưu"
RECORD_AGAIN = "🎙️ Ghi lại"
RECORD_SKIP = "⏭️ Bỏ qua"
RECORD_STOP = "⏸️ Dừng"
RECORD_NOT_KEPT = "⚠️ Chưa lưu được ghi âm này. Anh/chị ghi lại nhé."
RECORD_NEED_VOICE = "🎙️ Anh/chị gửi ghi âm (giữ nút micro), không gõ chữ nhé."
RECORD_DONE = "🎉 Đã ghi đủ {total} câu cho «{unit}». Gõ /ghiam SỐ để ghi lại một câu."
RECORD_STOPPED = "⏸️ Đã dừng ở câu {number}/{total}. Gõ /ghiam để làm tiếp."
RECORD_NO_SUCH = "🔢 Không có câu «{ask}». Gõ /ghiam và số từ 1 đến {total}."

# --- a very similar idea exists -------------------------------------------------------------
SIMILAR_FOUND = "🔎 Đã có sáng kiến rất giống: «{title}» ({unit}, {status}). Anh/chị thấy sao?"
SIMILAR_DIFFERENT = "✍️ Ý của tôi khác"
SIMILAR_JOIN = "🤝 Tôi cùng làm ý này"
JOIN_ASKED = "🤝 Đã hỏi cán bộ. Nếu được nhận, anh/chị có tên trong sáng kiến đó. Nháp vẫn giữ."
JOIN_NOBODY = "🤝 Chưa hỏi được cán bộ nào. Nháp vẫn giữ, anh/chị gửi như ý của mình nhé."
OFFICER_JOIN_ASKED = (
    "🤝 {name} ({unit}) xin cùng làm sáng kiến số {id} «{title}».\n"
    "Gõ /nhan {request} để nhận, /khongnhan {request} để không nhận."
)
JOIN_YES = "✅ Nhận"
JOIN_NO = "❌ Không nhận"
JOIN_ACCEPTED = "✅ Đã thêm {name} vào người cùng làm «{title}»."
JOIN_DECLINED = "👌 Đã báo {name}: chưa nhận."
JOIN_DONE_ALREADY = "👌 Yêu cầu này đã được trả lời rồi."
JOIN_FORBIDDEN = "⛔ Sáng kiến này không thuộc đơn vị của anh/chị."
JOIN_USAGE = "🤝 Gõ /nhan và số yêu cầu, ví dụ: /nhan 12"
TOLD_JOIN_ACCEPTED = "🎉 Anh/chị đã có tên trong sáng kiến «{title}». Bản nháp giống nó đã đóng."
TOLD_JOIN_DECLINED = (
    "🙏 Cán bộ chưa nhận anh/chị vào «{title}». Nháp vẫn giữ: anh/chị gửi như ý của mình nhé."
)

REMINDERS_OFF = "🔕 Được rồi, tôi sẽ không nhắc nữa. Nháp vẫn giữ."

# --- the officers' web pages ---------------------------------------------------------------
WEB_TITLE = "Sáng kiến công đoàn"
WEB_NAV_QUEUE = "Chờ duyệt"
WEB_NAV_RANKINGS = "Xếp hạng"
WEB_NAV_UNITS = "Đơn vị, chỉ tiêu"
WEB_NAV_EXPORT = "Xuất file"
WEB_NAV_OFFICERS = "Cán bộ"
WEB_NAV_JOBS = "Việc định kỳ"
WEB_SIGN_OUT = "Đăng xuất"
WEB_LOGIN_TITLE = "Vào trang cán bộ"
WEB_LOGIN_BUTTON = "Vào trang cán bộ"
WEB_LOGIN_HINT = "Link này chỉ dùng được một lần. Bấm nút để vào."
WEB_LOGIN_GONE = "Link đã dùng hoặc đã hết hạn. Gõ /web trong chat để lấy link mới."
WEB_SIGNED_OUT = "Anh/chị đã đăng xuất. Gõ /web trong chat để vào lại."
WEB_NOT_SIGNED_IN = "Anh/chị chưa đăng nhập. Gõ /web trong chat để lấy link vào."
WEB_NOT_FOUND = "Không tìm thấy trang này trong các đơn vị của anh/chị."
WEB_FORBIDDEN = "Yêu cầu không hợp lệ. Tải lại trang rồi thử lại."
WEB_SERVES = "Đơn vị: {units}"

WEB_FILTER = "Lọc"
WEB_FILTER_UNIT = "Mã đơn vị"
WEB_FILTER_LEVEL = "Cấp duyệt"
WEB_FILTER_STATUS = "Trạng thái"
WEB_FILTER_FIELD = "Lĩnh vực"
WEB_FILTER_FROM = "Từ ngày"
WEB_FILTER_TO = "Đến ngày"
WEB_FILTER_VOICE = "Có ghi âm"
WEB_FILTER_SORT = "Sắp xếp"
WEB_ANY = "Tất cả"
WEB_PENDING = "Đang chờ duyệt"
WEB_SORTS = {
    "oldest": "Gửi sớm nhất",
    "newest": "Gửi mới nhất",
    "value": "Có giá trị làm lợi, cao nhất trước",
}
WEB_BAD_DATE = "Ngày phải viết dạng 2026-12-31."
WEB_COUNT = "{count} sáng kiến"
WEB_COUNT_MANY = "Hơn {count} sáng kiến"
WEB_EMPTY = "Không có sáng kiến nào như vậy."
WEB_PAGE_PREV = "← Trang trước"
WEB_PAGE_NEXT = "Trang sau →"
WEB_COL_ID = "Số"
WEB_COL_TITLE = "Tên sáng kiến"
WEB_COL_UNIT = "Đơn vị"
WEB_COL_AUTHOR = "Tác giả"
WEB_COL_PERSON = "Họ tên"
WEB_COL_STATUS = "Trạng thái"
WEB_COL_LEVEL = "Cấp"
WEB_COL_VALUE = "Làm lợi (đ/năm)"
WEB_COL_SENT = "Ngày gửi"
WEB_VOICE_MARK = "· có ghi âm"
WEB_SELECT_ALL = "Chọn tất cả"
WEB_DECIDE = "Quyết định cho các sáng kiến đã chọn"
WEB_DECIDE_ONE = "Quyết định"
WEB_DECISION_VALID = "Hợp lệ"
WEB_DECISION_RETURNED = "Trả lại"
WEB_DECISION_REJECTED = "Không hợp lệ"
WEB_REASON = "Lý do (bắt buộc khi trả lại hoặc không hợp lệ; người gửi sẽ đọc)"
WEB_REASON_NEEDED = "Ghi lý do khi trả lại hoặc không hợp lệ."
WEB_NONE_CHOSEN = "Chưa chọn sáng kiến nào."
WEB_DECIDED = "Đã quyết định {count} sáng kiến."
WEB_TAKEN = "Số {ids}: cán bộ khác vừa quyết định trước, không đổi."
WEB_NOT_YOURS = "Số {ids}: không còn chờ anh/chị duyệt."

WEB_STATUS = {
    "draft": "Nháp",
    "submitted": "Chờ duyệt",
    "under_review": "Đang duyệt cấp trên",
    "valid": "Hợp lệ",
    "returned": "Trả lại",
    "rejected": "Không hợp lệ",
    "awaiting_author": "Chờ tác giả xác nhận",
    "withdrawn": "Đã rút",
    "duplicate": "Trùng ý đã có",
}
WEB_FIELDS = {
    "production": "Kỹ thuật, sản xuất",
    "safety": "An toàn lao động",
    "saving": "Tiết kiệm điện, vật tư",
    "quality": "Chất lượng sản phẩm",
    "management": "Quản lý, tổ chức",
    "environment": "Môi trường",
    "other": "Khác",
}
WEB_BENEFITS = {
    "time": "Tiết kiệm thời gian",
    "money": "Làm lợi, tiết kiệm tiền",
    "safety": "An toàn hơn",
    "quality": "Chất lượng tốt hơn",
    "environment": "Bảo vệ môi trường",
    "other": "Lợi ích khác",
}
WEB_PARTS = {
    "problem": "Khó khăn",
    "solution": "Cách làm",
    "benefit_detail": "Lợi ích",
    "co_authors": "Người cùng làm",
    "title": "Tên",
}
WEB_LEVELS = {
    "grassroots": "Cơ sở",
    "district": "Trên cơ sở",
    "province": "Tỉnh, ngành",
    "national": "Tổng Liên đoàn",
}

WEB_ENTRY = "Sáng kiến số {id}"
WEB_ENTRY_PROBLEM = "Khó khăn"
WEB_ENTRY_SOLUTION = "Cách làm"
WEB_ENTRY_BENEFIT = "Lợi ích"
WEB_ENTRY_VALUE = "Giá trị làm lợi"
WEB_ENTRY_FIELD = "Lĩnh vực"
WEB_ENTRY_APPLIED = "Đã áp dụng"
WEB_ENTRY_APPLIED_ON = "Áp dụng từ {date}"
WEB_ENTRY_NOT_APPLIED = "Chưa áp dụng"
WEB_ENTRY_COAUTHORS = "Người cùng làm"
WEB_ENTRY_AUTHOR = "Tác giả"
WEB_ENTRY_UNIT = "Đơn vị"
WEB_ENTRY_SENT = "Ngày gửi"
WEB_ENTRY_STATUS = "Trạng thái"
WEB_ENTRY_ENTERED = "Cán bộ {name} nhập hộ tác giả"
WEB_ENTRY_CONFIRMED = "Xác nhận bởi {name}"
WEB_ENTRY_SPOKEN = "Nói bằng giọng"
WEB_ENTRY_RECORDINGS = "Ghi âm của tác giả"
WEB_ENTRY_NO_RECORDINGS = "Không có ghi âm."
WEB_ENTRY_HEARD = "Máy nghe được: {text}"
WEB_ENTRY_HISTORY = "Lịch sử duyệt"
WEB_ENTRY_NO_HISTORY = "Chưa có ai duyệt."
WEB_ENTRY_DUPLICATE_OF = "Trùng ý với sáng kiến số {id}"
WEB_BACK_TO_QUEUE = "← Danh sách"

WEB_RANKINGS = "Xếp hạng tuần {week}"
WEB_RANKINGS_OF = "Các đơn vị thuộc «{unit}»"
WEB_RANKINGS_NONE = "Chưa có đơn vị nào để xếp hạng."
WEB_WEEK = "Tuần"
WEB_COL_RANK = "Hạng"
WEB_COL_VALID = "Hợp lệ"
WEB_COL_ENTRIES = "Đã gửi"
WEB_COL_QUOTA = "Chỉ tiêu"
WEB_COL_SHARE = "% chỉ tiêu"
WEB_COL_CHANGE = "Thay đổi"
WEB_SHOW = "Xem"

WEB_UNITS = "Đơn vị và chỉ tiêu năm {period}"
WEB_PERIOD = "Kỳ"
WEB_NO_PERIOD = "Chưa có kỳ chỉ tiêu nào. Thêm kỳ bằng lệnh sangkien units period."
WEB_COL_CODE = "Mã"
WEB_COL_NAME = "Tên đơn vị"
WEB_QUOTA_SAVE = "Lưu"
WEB_QUOTA_SAVED = "Đã lưu"
WEB_QUOTA_BAD = "Chỉ tiêu là số nguyên từ 0 đến 10.000.000."
WEB_IMPORT = "Nhập danh sách đơn vị (CSV hoặc XLSX)"
WEB_IMPORT_HINT = "Cột: code, name, level, parent_code, quota. Xem trước rồi mới nhập."
WEB_IMPORT_PREVIEW = "Xem trước"
WEB_IMPORT_APPLY = "Nhập {count} thay đổi"
WEB_IMPORT_BAD = "File không nhập được, chưa thay đổi gì. Sửa các dòng sau rồi gửi lại:"
WEB_IMPORT_ROW = "Dòng {row}: {reason}"
WEB_IMPORT_FILE = "File: {reason}"
WEB_IMPORT_NEW = "Thêm mới {count} đơn vị"
WEB_IMPORT_RENAMED = "Đổi tên {count} đơn vị"
WEB_IMPORT_MOVED = "Chuyển {count} đơn vị sang đơn vị cấp trên khác"
WEB_IMPORT_QUOTAS = "Đặt chỉ tiêu cho {count} đơn vị"
WEB_IMPORT_SAME = "{count} đơn vị không đổi"
WEB_IMPORT_NOTHING = "File không có gì thay đổi."
WEB_IMPORT_RUNNING = "Đang nhập: {done}/{total} đơn vị…"
WEB_IMPORT_DONE = "Đã nhập: thêm {created}, sửa {updated}, đặt {quotas} chỉ tiêu."
WEB_IMPORT_NO_FILE = "Chưa chọn file."
WEB_IMPORT_TOO_BIG = "File quá lớn (tối đa {mb} MB)."
WEB_IMPORT_GONE = "Bản xem trước đã cũ. Gửi lại file."
WEB_UNIT_OUTSIDE = "{code} không thuộc đơn vị của anh/chị"

WEB_EXPORT = "Xuất danh sách sáng kiến"
WEB_EXPORT_HINT = "CSV cho máy đọc (tên cột tiếng Anh); XLSX cho người đọc, mở bằng Excel."
WEB_EXPORT_CSV = "Tải CSV"
WEB_EXPORT_XLSX = "Tải Excel (XLSX)"

WEB_OFFICERS = "Cán bộ các đơn vị"
WEB_OFFICER_REMOVE = "Bỏ quyền cán bộ"
WEB_OFFICER_REMOVED = "Đã bỏ quyền cán bộ của {name} ở {unit}."
WEB_OFFICER_NONE = "Chưa có cán bộ nào."
WEB_INVITE = "Mời cán bộ mới"
WEB_INVITE_BUTTON = "Tạo mã mời"
WEB_INVITE_DAYS = "Hết hạn sau (ngày)"
WEB_INVITE_MADE = (
    "Mã mời cho «{unit}»: {code} (hết hạn {expires}). Người được mời gõ /canbo {code}."
)
WEB_INVITE_LINK = "Hoặc mở link: {link}"
WEB_INVITE_BAD_DAYS = "Số ngày từ 1 đến 90."

WEB_JOBS = "Việc định kỳ"
WEB_JOB_NAME = "Việc"
WEB_JOB_LAST = "Lần chạy gần nhất"
WEB_JOB_NEXT = "Lần chạy tới"
WEB_JOB_RESULT = "Kết quả"
WEB_JOB_NEVER = "Chưa chạy"
WEB_JOB_STATUS = {"done": "Xong", "failed": "Lỗi", "running": "Đang chạy"}
WEB_JOB_NAMES = {
    "rankings": "Gửi bảng xếp hạng vào nhóm",
    "officer-reminders": "Nhắc cán bộ việc trong ngày",
    "worker-reminders": "Nhắc công nhân bản nháp bỏ dở",
    "officer-notices": "Báo cán bộ có sáng kiến mới",
    "prune": "Dọn dữ liệu cũ",
}
WEB_OUTBOX = "Tin nhắn không gửi được"
WEB_OUTBOX_NONE = "Không có tin nào bị bỏ."
WEB_OUTBOX_CHAT = "Gửi tới"
WEB_OUTBOX_ERROR = "Lỗi"
WEB_OUTBOX_WHEN = "Lúc"

# --- the XLSX export, read by people (the CSV keeps its machine names) ----------------------
XLSX_SHEET = "Sáng kiến"
XLSX_HEADERS = {
    "id": "Số",
    "status": "Trạng thái",
    "unit_code": "Mã đơn vị",
    "unit_name": "Đơn vị",
    "author_name": "Tác giả",
    "author_phone": "Điện thoại",
    "entered_by": "Cán bộ nhập hộ",
    "confirmed_by": "Người xác nhận",
    "confirmed_at": "Ngày xác nhận",
    "title": "Tên sáng kiến",
    "problem": "Khó khăn",
    "solution": "Cách làm",
    "benefit_kind": "Loại lợi ích",
    "benefit_detail": "Lợi ích cụ thể",
    "benefit_value_vnd": "Giá trị làm lợi (đ/năm)",
    "field": "Lĩnh vực",
    "applied": "Đã áp dụng",
    "applied_on": "Ngày áp dụng",
    "co_authors": "Người cùng làm",
    "sources": "Nói bằng giọng",
    "created_at": "Ngày tạo",
    "updated_at": "Ngày sửa",
    "submitted_at": "Ngày gửi",
    "review_level": "Cấp đang duyệt",
    "review_history": "Lịch sử duyệt",
}
XLSX_SUMMARY_HEADERS = {
    "code": "Mã đơn vị",
    "name": "Tên đơn vị",
    "entries": "Đã gửi",
    "valid": "Hợp lệ",
    "quota": "Chỉ tiêu",
    "percent_of_quota": "% chỉ tiêu",
}
XLSX_YES = "Có"
XLSX_NO = "Chưa"
XLSX_SPOKEN = "Nói: {parts}"
XLSX_STEP = "{date} {level}: {decision} ({officer})"

# --- what is wrong with a unit file (the command line and the web page say the same) ---------
UNIT_FILE_NOT_XLSX = "không phải file Excel .xlsx ({error})"
UNIT_FILE_NOT_TEXT = "không phải file chữ ở bảng mã nào Excel lưu ({tried})"
UNIT_FILE_ROW_BROKEN = "dòng {row} không đọc được ({error})"
UNIT_FILE_HEADER = "dòng tiêu đề phải có các cột {columns}; thiếu {missing}"
UNIT_FILE_PERIOD = "kỳ {period!r} chưa có: thêm kỳ trước (sangkien periods add)"
UNIT_FILE_CODE = "mã {code!r}: chỉ chữ không dấu, số và dấu -, tối đa 40 ký tự"
UNIT_FILE_DUPLICATE = "mã {code} trùng với dòng {row}"
UNIT_FILE_NAME = "tên: bắt buộc, tối đa 200 ký tự"
UNIT_FILE_NAME_CONTROL = "tên có ký tự lạ (NUL, tab, xuống dòng)"
UNIT_FILE_LEVEL = "cấp {level!r}: phải là một trong {levels}"
UNIT_FILE_QUOTA = "chỉ tiêu {quota!r}: số nguyên từ 0 đến {cap}"
UNIT_FILE_NEEDS_PARENT = "{code}: đơn vị cấp {level} phải có parent_code"
UNIT_FILE_NO_PARENT = "{code}: đơn vị cấp trên {parent} không có trong file hay trong hệ thống"
UNIT_FILE_CYCLE = "{code}: đi lên các cấp trên lại về chính nó"
UNIT_FILE_GRASSROOTS_PARENT = "{code}: công đoàn cơ sở {parent} không có đơn vị con"
UNIT_FILE_WRONG_PARENT = "{code}: đơn vị cấp {level} không đặt dưới đơn vị cấp {parent_level}"
UNIT_FILE_STRANDED = "{parent}: đơn vị {code} ({level}) đang thuộc nó sẽ sai cấp"

//! The console's words in Simplified Chinese (the default) and English, and the names of the
//! API's codes (statuses, categories, bands, clocks, events) in each.

use std::collections::HashMap;
use std::sync::OnceLock;

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Simplified Chinese, the default.
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The language a cookie value names; Chinese unless it says English.
    pub fn from_cookie(value: Option<&str>) -> Lang {
        match value {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    /// The cookie value and the `lang` attribute of the page.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// Looks words up in one language; `Copy`, so every page template holds one.
#[derive(Debug, Clone, Copy)]
pub struct Tr(pub Lang);

impl Tr {
    /// The words for `key`; the key itself when there are none (a code the console does not
    /// know yet shows as the API names it).
    pub fn s<'a>(&self, key: &'a str) -> &'a str {
        match table().get(key) {
            Some((zh, en)) => match self.0 {
                Lang::Zh => zh,
                Lang::En => en,
            },
            None => key,
        }
    }

    /// The words for a code of a kind (`status.signed`, `band.at_risk`, ...).
    pub fn code(&self, kind: &str, code: &str) -> String {
        let key = format!("{kind}.{code}");
        match table().get(key.as_str()) {
            Some((zh, en)) => match self.0 {
                Lang::Zh => (*zh).to_owned(),
                Lang::En => (*en).to_owned(),
            },
            None => code.to_owned(),
        }
    }

    /// The page's language.
    pub fn lang(&self) -> &'static str {
        self.0.code()
    }

    /// Whether the page is in English.
    pub fn english(&self) -> bool {
        self.0 == Lang::En
    }
}

fn table() -> &'static HashMap<&'static str, (&'static str, &'static str)> {
    static TABLE: OnceLock<HashMap<&'static str, (&'static str, &'static str)>> = OnceLock::new();
    TABLE.get_or_init(|| WORDS.iter().map(|(k, zh, en)| (*k, (*zh, *en))).collect())
}

/// Every key with its Chinese and English words.
const WORDS: &[(&str, &str, &str)] = &[
    ("app.name", "供热投诉处理平台", "Heatline console"),
    ("nav.queue", "工单队列", "Queue"),
    ("nav.unrouted", "待定位投诉", "Unrouted"),
    ("nav.hotline", "热线受理", "Hotline filing"),
    ("nav.tickets", "本单位工单", "Our tickets"),
    ("nav.crews", "维修班组", "Crews"),
    ("nav.ledger", "信用台账", "Credit ledger"),
    ("nav.appeals", "申诉", "Appeals"),
    ("nav.jobs", "我的任务", "My jobs"),
    ("nav.logout", "退出登录", "Log out"),
    ("nav.language", "English", "中文"),
    ("nav.skip", "跳到正文", "Skip to content"),
    ("login.title", "登录", "Log in"),
    ("login.username", "用户名", "Username"),
    ("login.password", "密码", "Password"),
    ("login.submit", "登录", "Log in"),
    (
        "login.failed",
        "用户名或密码错误；连续多次失败后账号会被暂时锁定，请稍后再试或联系管理员。",
        "The username or password is wrong; after repeated failures the account is locked for a while. Try again later or ask an administrator.",
    ),
    (
        "login.expired",
        "登录已过期，请重新登录。",
        "Your session has ended; please log in again.",
    ),
    ("login.out", "您已退出登录。", "You are logged out."),
    (
        "login.resident",
        "居民请使用手机应用或微信小程序。",
        "Residents use the mobile app or the WeChat mini-program.",
    ),
    (
        "csrf.refused",
        "表单已失效（缺少或不符的安全令牌），操作未执行。请刷新页面后重试。",
        "The form has expired (its security token is missing or wrong); nothing was done. Reload the page and try again.",
    ),
    ("error.title", "无法完成", "Could not be done"),
    (
        "error.forbidden",
        "您无权查看或操作此内容。",
        "This is not yours to see or change.",
    ),
    ("error.not_found", "没有找到该内容。", "Not found."),
    (
        "error.unavailable",
        "服务暂时不可用，请稍后重试。",
        "The service is unavailable for the moment; try again shortly.",
    ),
    ("error.back", "返回", "Back"),
    (
        "conflict",
        "工单已被他人修改：以下是最新状态，请确认后重新操作。",
        "Someone changed this ticket meanwhile: this is its state now; check it and act again.",
    ),
    ("done", "已完成", "Done"),
    ("queue.title", "工单队列", "Ticket queue"),
    ("queue.filters", "筛选", "Filters"),
    ("queue.apply", "筛选", "Apply"),
    ("queue.clear", "清除", "Clear"),
    ("queue.any", "全部", "Any"),
    ("queue.district", "区县", "District"),
    ("queue.supplier", "供热单位", "Supplier"),
    ("queue.status", "状态", "Status"),
    ("queue.priority", "优先级", "Priority"),
    ("queue.channel", "渠道", "Channel"),
    ("queue.band", "时限状态", "SLA band"),
    ("queue.ticket", "工单", "Ticket"),
    ("queue.category", "类别", "Category"),
    ("queue.place", "位置", "Place"),
    ("queue.households", "户数", "Households"),
    ("queue.next", "最近时限", "Next deadline"),
    ("queue.left", "剩余时间", "Time left"),
    (
        "queue.empty",
        "没有符合条件的在办工单。",
        "No open ticket matches.",
    ),
    ("queue.more", "下一页", "Next page"),
    ("queue.live", "自动更新", "Updates by itself"),
    ("queue.updated", "更新于", "Updated"),
    ("queue.new", "新", "new"),
    ("queue.total", "在办合计", "Open in all"),
    ("band.breached", "已超时", "Breached"),
    ("band.at_risk", "即将超时", "At risk"),
    ("band.paused", "已暂停", "Paused"),
    ("band.on_time", "正常", "On time"),
    ("status.opened", "待派单", "Opened"),
    ("status.dispatched", "已派单", "Dispatched"),
    ("status.returned", "已退单", "Returned"),
    ("status.signed", "已签收", "Signed"),
    ("status.crew_assigned", "已派工", "Crew assigned"),
    ("status.on_site", "已到场", "On site"),
    ("status.resolved", "已办结待回访", "Resolved"),
    ("status.closed", "已关闭", "Closed"),
    ("complaintstatus.open", "待签收", "Open"),
    ("complaintstatus.merged", "已合并", "Merged"),
    ("complaintstatus.signed", "处理中", "Being repaired"),
    ("complaintstatus.withdrawn", "已撤回", "Withdrawn"),
    ("complaintstatus.rejected", "已驳回", "Rejected"),
    ("category.no_heat", "不供暖", "No heat"),
    ("category.low_temperature", "室温不达标", "Low temperature"),
    ("category.leak", "漏水", "Leak"),
    ("category.noise", "噪音", "Noise"),
    ("category.billing", "收费", "Billing"),
    ("category.service_attitude", "服务态度", "Service attitude"),
    ("category.stop_heating", "停暖", "Stop heating"),
    ("category.refund", "退费", "Refund"),
    ("priority.normal", "普通", "Normal"),
    ("priority.urgent", "紧急", "Urgent"),
    ("channel.app", "手机应用", "App"),
    ("channel.wechat", "微信小程序", "WeChat"),
    ("channel.hotline", "热线坐席", "Hotline"),
    ("channel.12345", "12345平台", "12345 platform"),
    ("channel.open311", "Open311", "Open311"),
    ("origin.complaint", "投诉", "Complaint"),
    ("origin.incident", "片区故障", "Incident"),
    ("clock.resident", "居民等待", "Resident's wait"),
    ("clock.sign", "签收", "Sign"),
    ("clock.on_site", "到场", "On site"),
    ("clock.restore", "修复", "Restore"),
    ("clock.hotline_finish", "热线办结", "Hotline finish"),
    ("clock.callback", "回访", "Callback"),
    ("clockstate.running", "计时中", "running"),
    ("clockstate.paused", "已暂停", "paused"),
    ("clockstate.stopped", "已停止", "stopped"),
    ("event.TicketOpened", "生成工单", "Ticket opened"),
    ("event.ComplaintAttached", "并入投诉", "Complaint attached"),
    ("event.TicketRouted", "定位", "Routed"),
    ("event.TicketDispatched", "派单", "Dispatched"),
    ("event.TicketSigned", "签收", "Signed"),
    ("event.TicketReturned", "退单", "Returned"),
    ("event.ReturnReviewed", "退单审核", "Return reviewed"),
    ("event.CrewAssigned", "派工", "Crew assigned"),
    ("event.CrewCheckedIn", "到场签到", "Checked in"),
    ("event.TemperatureMeasured", "测温", "Temperature measured"),
    ("event.WorkPaused", "暂停", "Paused"),
    ("event.WorkResumed", "恢复", "Resumed"),
    ("event.ExtensionRequested", "申请延期", "Extension asked"),
    ("event.ExtensionDecided", "延期审批", "Extension decided"),
    ("event.TicketSupervised", "督办", "Supervised"),
    ("event.TicketResolved", "办结", "Resolved"),
    ("event.FeedbackGiven", "回访评价", "Feedback"),
    ("event.MemberVerdictGiven", "住户评价", "Household verdict"),
    ("event.TicketReopened", "重办", "Reopened"),
    ("event.TicketClosed", "关闭", "Closed"),
    ("event.SlaBreached", "超时", "SLA breached"),
    ("role.system", "系统", "system"),
    ("role.dispatcher", "调度员", "dispatcher"),
    ("role.operator", "热线坐席", "operator"),
    ("role.supplier_admin", "供热单位", "supplier"),
    ("role.crew", "维修班组", "crew"),
    ("role.regulator", "监管部门", "regulator"),
    ("role.resident", "居民", "resident"),
    ("role.admin", "管理员", "admin"),
    ("cause.supplier", "供热单位原因", "Supplier"),
    ("cause.resident_side", "用户自身原因", "Resident side"),
    (
        "cause.developer_handover",
        "开发商遗留",
        "Developer handover",
    ),
    ("cause.upstream", "热源或一级网原因", "Upstream"),
    ("pause.resident_absent", "住户不在家", "Resident absent"),
    ("pause.parts", "等待配件", "Waiting for parts"),
    (
        "pause.upstream_outage",
        "热源或一级网停热",
        "Upstream outage",
    ),
    ("rating.satisfied", "满意", "Satisfied"),
    (
        "rating.basically_satisfied",
        "基本满意",
        "Basically satisfied",
    ),
    ("rating.unsatisfied", "不满意", "Unsatisfied"),
    ("ticket.title", "工单详情", "Ticket"),
    ("ticket.clocks", "时限", "Clocks"),
    ("ticket.used", "已用", "used"),
    ("ticket.left", "剩余", "left"),
    ("ticket.late", "超时", "late by"),
    ("ticket.target", "时限要求", "target"),
    ("ticket.breached", "已超时", "breached"),
    ("ticket.complaints", "关联投诉", "Complaints"),
    ("ticket.household", "住户", "Household"),
    ("ticket.measurements", "测温记录", "Measurements"),
    ("ticket.celsius", "室温（℃）", "Room (℃)"),
    ("ticket.room", "房间", "Room"),
    ("ticket.device", "测温设备编号", "Device id"),
    ("ticket.measured_at", "测量时间", "Measured at"),
    ("ticket.standard_met", "达标（≥18℃）", "Meets 18 ℃"),
    ("ticket.timeline", "处理经过", "Timeline"),
    ("ticket.actions", "操作", "Actions"),
    ("ticket.none", "无", "none"),
    ("ticket.version", "版本", "version"),
    ("ticket.supplier", "供热单位", "Supplier"),
    ("ticket.crew", "班组", "Crew"),
    ("ticket.extension", "延期", "Extension"),
    ("ticket.paused_for", "暂停原因", "Paused for"),
    ("ticket.work_order", "12345工单号", "12345 work order"),
    (
        "ticket.no_actions",
        "当前状态下您没有可执行的操作。",
        "Nothing is yours to do in this state.",
    ),
    ("extension.none", "未申请", "none"),
    ("extension.requested", "已申请，待审批", "requested"),
    ("extension.refused", "未获批准", "refused"),
    ("extension.granted", "已批准", "granted"),
    ("yes", "是", "yes"),
    ("no", "否", "no"),
    ("action.dispatch", "派单", "Dispatch"),
    ("action.sign", "签收", "Sign"),
    ("action.return", "退单", "Return"),
    ("action.return-review", "审核退单", "Review the return"),
    ("action.assign", "派工", "Assign a crew"),
    ("action.check-in", "到场签到", "Check in"),
    ("action.measurements", "记录测温", "Record a measurement"),
    ("action.pause", "暂停", "Pause"),
    ("action.resume", "恢复", "Resume"),
    ("action.extension", "申请延期", "Ask for an extension"),
    (
        "action.extension-decision",
        "审批延期",
        "Decide the extension",
    ),
    ("action.supervise", "督办", "Supervise"),
    ("action.resolve", "办结", "Resolve"),
    ("action.close", "回访后关闭", "Close after the callback"),
    ("form.supplier_id", "供热单位编号", "Supplier id"),
    ("form.reason", "原因", "Reason"),
    ("form.note", "说明", "Note"),
    ("form.crew", "班组", "Crew"),
    ("form.approve", "同意", "Approve"),
    ("form.refuse", "不同意", "Refuse"),
    (
        "form.working_days",
        "延期工作日（1–10）",
        "Working days (1–10)",
    ),
    ("form.latitude", "纬度", "Latitude"),
    ("form.longitude", "经度", "Longitude"),
    ("form.locate", "获取当前位置", "Use my position"),
    ("form.cause", "原因分类", "Cause"),
    (
        "form.standard_met",
        "室温已达标",
        "The room meets the standard",
    ),
    ("form.building_id", "楼栋编号", "Building id"),
    ("form.route", "定位并派发", "Route"),
    ("unrouted.title", "待定位投诉", "Unrouted complaints"),
    (
        "unrouted.empty",
        "没有待定位的投诉。",
        "No unrouted complaint.",
    ),
    ("unrouted.address", "地址（已脱敏）", "Address (masked)"),
    ("unrouted.filed", "受理时间", "Filed"),
    ("hotline.title", "热线受理", "File for a caller"),
    (
        "hotline.lookup",
        "查询来电人在办投诉",
        "Find the caller's open complaints",
    ),
    ("hotline.phone", "来电号码", "Caller's phone"),
    ("hotline.find", "查询", "Find"),
    (
        "hotline.open",
        "该来电人的在办投诉",
        "The caller's open complaints",
    ),
    (
        "hotline.none_open",
        "该号码没有在办投诉。",
        "No open complaint for this number.",
    ),
    (
        "hotline.repeat",
        "重复来电：已有在办投诉，再次受理将并入原投诉。",
        "Repeat caller: a new filing merges into the open complaint.",
    ),
    ("hotline.address", "地址", "Address"),
    (
        "hotline.address_hint",
        "输入小区、街道或楼号，可从楼栋档案中选择",
        "Type the street or building; pick from the registry",
    ),
    (
        "hotline.account",
        "供热户号（可选）",
        "Heating account (optional)",
    ),
    ("hotline.category", "问题类别", "Category"),
    ("hotline.description", "来电内容", "What the caller said"),
    (
        "hotline.temperature",
        "来电人自测室温（℃，可选）",
        "Caller's reading (℃, optional)",
    ),
    ("hotline.submit", "受理", "File"),
    (
        "hotline.accepted",
        "已受理：新投诉已生成。",
        "Accepted: a new complaint.",
    ),
    (
        "hotline.merged",
        "已合并：该住户已有在办投诉，本次来电已并入。",
        "Merged: the household already had an open complaint; this call joined it.",
    ),
    (
        "hotline.incident",
        "已并入片区故障工单。",
        "Part of an incident.",
    ),
    (
        "hotline.unrouted",
        "地址未能匹配楼栋档案，已转调度员定位。",
        "The address matched no building; a dispatcher will route it.",
    ),
    ("hotline.complaint", "投诉编号", "Complaint"),
    ("hotline.status", "状态", "Status"),
    ("crews.title", "维修班组", "Crews"),
    ("crews.name", "名称", "Name"),
    ("crews.district", "负责区县", "District"),
    ("crews.active", "在岗", "Active"),
    ("crews.members", "成员（登录名）", "Members (usernames)"),
    ("crews.jobs", "在办任务", "Open jobs"),
    ("crews.new", "新增班组", "New crew"),
    ("crews.create", "新增", "Add"),
    ("crews.empty", "还没有班组。", "No crew yet."),
    ("ledger.title", "信用台账", "Credit ledger"),
    ("ledger.season", "采暖季", "Season"),
    ("ledger.score", "得分", "Score"),
    ("ledger.grade", "等级", "Grade"),
    ("ledger.rule", "规则", "Rule"),
    ("ledger.points", "分值", "Points"),
    ("ledger.dimension", "维度", "Dimension"),
    ("ledger.at", "时间", "At"),
    ("ledger.evidence", "证据事件", "Evidence"),
    ("ledger.appeal", "申诉", "Appeal"),
    (
        "ledger.empty",
        "本采暖季还没有台账条目。",
        "No ledger entry this season yet.",
    ),
    ("appeals.title", "申诉", "Appeals"),
    ("appeals.statement", "申诉理由", "Statement"),
    (
        "appeals.attachment",
        "附件（图片或PDF，可选）",
        "Attachment (image or PDF, optional)",
    ),
    ("appeals.submit", "提交申诉", "Appeal"),
    ("appeals.status", "状态", "Status"),
    ("appeals.decision", "决定", "Decision"),
    (
        "appeals.empty",
        "本采暖季还没有申诉。",
        "No appeal this season yet.",
    ),
    ("appeals.entry", "台账条目", "Entry"),
    ("appeals.attachments", "附件", "Attachments"),
    ("appeals.filed_at", "提交时间", "Filed"),
    ("appeals.decided_at", "决定时间", "Decided"),
    ("appeals.reason", "监管部门意见", "Regulator's reason"),
    ("appeals.filed", "申诉已提交。", "The appeal is filed."),
    ("dimension.heating_quality", "供热质量", "Heating quality"),
    ("dimension.sla_performance", "时限履约", "SLA performance"),
    (
        "dimension.complaint_rate",
        "万平米投诉率",
        "Complaints per 10,000 m²",
    ),
    ("dimension.satisfaction", "满意度", "Satisfaction"),
    ("dimension.outages", "停热", "Outages"),
    ("dimension.data_integration", "数据对接", "Data integration"),
    ("dimension.veto", "一票否决", "Veto"),
    ("appeal.pending", "申诉中", "appeal pending"),
    ("appeal.upheld", "申诉成立", "appeal upheld"),
    ("appeal.rejected", "申诉驳回", "appeal rejected"),
    ("ledger.tickets", "相关工单", "Tickets"),
    ("jobs.title", "我的任务", "My jobs"),
    ("jobs.empty", "目前没有任务。", "No job at the moment."),
    ("jobs.open", "处理", "Open"),
];

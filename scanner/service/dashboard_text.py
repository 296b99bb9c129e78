"""The dashboard's words in English and Japanese: {key: {"en": ..., "ja": ...}}, merged over
the frame's words by scanner.service.ui_text.

The Japanese is written for the people who read shinsa's reports (makers, installers and
the auditors they answer to), in the report's own vocabulary (reports/i18n.py): 要件,
適合/不適合, 合格/不合格, 判定不能, 重大度 (緊急・高・中・低・情報), plus the operation words a
Japanese site uses: 定期スキャン, ベースライン, 変化（ドリフト）, 資産台帳, 拠点. Not a
word-for-word translation: a sentence says what the reader needs in the order a Japanese
page says it.

Keys are grouped by prefix: values of the data (`sev.`, `verdict.`, `status.`,
`run_status.`, `state.`, `trigger.`, `drift.`, `alert_state.`), table columns (`col.`),
then one prefix per page.
"""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    # --- the frame's navigation, in the dashboard's words -----------------------------------
    "nav.fleet": {"en": "Overview", "ja": "全体概況"},
    "nav.devices": {"en": "Devices", "ja": "機器"},
    "nav.schedules": {"en": "Schedules", "ja": "定期スキャン"},
    # --- values -----------------------------------------------------------------------------
    "sev.critical": {"en": "critical", "ja": "緊急"},
    "sev.high": {"en": "high", "ja": "高"},
    "sev.medium": {"en": "medium", "ja": "中"},
    "sev.low": {"en": "low", "ja": "低"},
    "sev.info": {"en": "info", "ja": "情報"},
    "group.critical": {"en": "Critical", "ja": "緊急"},
    "group.high": {"en": "High", "ja": "高"},
    "group.medium": {"en": "Medium", "ja": "中"},
    "group.low": {"en": "Low", "ja": "低"},
    "group.info": {"en": "Info", "ja": "情報"},
    "group.none": {"en": "No failures", "ja": "不合格なし"},
    "group.unreachable": {"en": "Not scanned", "ja": "診断できず"},
    "verdict.pass": {"en": "pass", "ja": "合格"},
    "verdict.fail": {"en": "fail", "ja": "不合格"},
    "verdict.inconclusive": {"en": "inconclusive", "ja": "判定不能"},
    "verdict.error": {"en": "error", "ja": "エラー"},
    "verdict.not_applicable": {"en": "not applicable", "ja": "該当なし"},
    "verdict.skipped": {"en": "skipped", "ja": "未実施"},
    "status.satisfied": {"en": "satisfied", "ja": "適合"},
    "status.not_satisfied": {"en": "not satisfied", "ja": "不適合"},
    "status.partially_assessed": {"en": "partially assessed", "ja": "一部評価"},
    "status.not_assessed": {"en": "not assessed", "ja": "未評価"},
    "status.not_applicable": {"en": "not applicable", "ja": "該当なし"},
    "status.error": {"en": "error", "ja": "エラー"},
    "run_status.queued": {"en": "queued", "ja": "待機中"},
    "run_status.running": {"en": "running", "ja": "実行中"},
    "run_status.complete": {"en": "complete", "ja": "完了"},
    "run_status.incomplete": {"en": "incomplete", "ja": "一部未完了"},
    "run_status.interrupted": {"en": "interrupted", "ja": "中断"},
    "run_status.crashed": {"en": "crashed", "ja": "異常終了"},
    "run_status.stopped": {
        "en": "stopped (window closed)",
        "ja": "停止（メンテナンス時間帯の終了）",
    },
    "state.done": {"en": "scanned", "ja": "診断済み"},
    "state.failed": {"en": "not scanned", "ja": "診断できず"},
    "state.pending": {"en": "pending", "ja": "未完了"},
    "trigger.schedule": {"en": "scheduled", "ja": "定期"},
    "trigger.run-now": {"en": "run now", "ja": "手動実行"},
    "trigger.import": {"en": "import", "ja": "取り込み"},
    "trigger.cli": {"en": "command line", "ja": "コマンドライン"},
    "drift.against.baseline": {"en": "vs baseline", "ja": "ベースライン比"},
    "drift.against.previous": {"en": "vs previous run", "ja": "前回比"},
    "drift.device_unreachable": {"en": "device unreachable", "ja": "機器に到達できない"},
    "drift.identity_changed": {"en": "device identity changed", "ja": "機器の同一性が変化"},
    "drift.new_device": {"en": "new device", "ja": "新しい機器"},
    "drift.service_opened": {"en": "service opened", "ja": "サービスの追加（ポート開放）"},
    "drift.new_failure": {"en": "new failure", "ja": "新たな不合格"},
    "drift.status_regression": {"en": "requirement status worse", "ja": "要件の評価が悪化"},
    "drift.cert_expiring": {"en": "certificate expiring", "ja": "証明書の有効期限が近い"},
    "drift.service_closed": {"en": "service closed", "ja": "サービスの停止（ポート閉鎖）"},
    "drift.fixed": {"en": "fixed", "ja": "是正（合格に改善）"},
    "alert_state.pending": {"en": "pending", "ja": "送信待ち"},
    "alert_state.sent": {"en": "sent", "ja": "送信済み"},
    "alert_state.failed": {"en": "failed", "ja": "送信失敗"},
    "channel.webhook": {"en": "webhook", "ja": "Webhook"},
    "channel.smtp": {"en": "e-mail", "ja": "メール"},
    "channel.syslog": {"en": "syslog", "ja": "syslog"},
    "yes": {"en": "yes", "ja": "はい"},
    "no": {"en": "no", "ja": "いいえ"},
    "none": {"en": "—", "ja": "—"},
    "sep": {"en": ": ", "ja": "："},
    # --- table columns ----------------------------------------------------------------------
    "col.device": {"en": "Device", "ja": "機器"},
    "col.address": {"en": "Address", "ja": "IPアドレス"},
    "col.label": {"en": "Label", "ja": "名称"},
    "col.vendor": {"en": "Vendor", "ja": "メーカー"},
    "col.model": {"en": "Model", "ja": "型番"},
    "col.firmware": {"en": "Firmware", "ja": "ファームウェア"},
    "col.mac": {"en": "MAC address", "ja": "MACアドレス"},
    "col.services": {"en": "Services", "ja": "サービス"},
    "col.first_seen": {"en": "First seen", "ja": "初回検出"},
    "col.last_seen": {"en": "Last seen", "ja": "最終検出"},
    "col.site": {"en": "Site", "ja": "拠点"},
    "col.run": {"en": "Run", "ja": "スキャン"},
    "col.started": {"en": "Started ({tz})", "ja": "開始日時（{tz}）"},
    "col.finished": {"en": "Finished ({tz})", "ja": "終了日時（{tz}）"},
    "col.status": {"en": "Status", "ja": "状態"},
    "col.progress": {"en": "Progress", "ja": "進捗"},
    "col.devices": {"en": "Devices", "ja": "機器数"},
    "col.trigger": {"en": "Started by", "ja": "実行契機"},
    "col.schedule": {"en": "Schedule", "ja": "定期スキャン"},
    "col.profile": {"en": "Profile", "ja": "プロファイル"},
    "col.severity": {"en": "Severity", "ja": "重大度"},
    "col.worst": {"en": "Worst failure", "ja": "最も重い不合格"},
    "col.failed": {"en": "Failed checks", "ja": "不合格のチェック"},
    "col.check": {"en": "Check", "ja": "チェック"},
    "col.service": {"en": "Service", "ja": "サービス"},
    "col.reason": {"en": "Reason", "ja": "理由"},
    "col.kind": {"en": "Change", "ja": "変化の種類"},
    "col.subject": {"en": "Subject", "ja": "対象"},
    "col.before": {"en": "Before", "ja": "変化前"},
    "col.after": {"en": "After", "ja": "変化後"},
    "col.against": {"en": "Compared with", "ja": "比較対象"},
    "col.channel": {"en": "Channel", "ja": "通知方法"},
    "col.target": {"en": "Destination", "ja": "送信先"},
    "col.state": {"en": "State", "ja": "状態"},
    "col.attempts": {"en": "Attempts", "ja": "試行回数"},
    "col.last_error": {"en": "Last error", "ja": "直近のエラー"},
    "col.created": {"en": "Created ({tz})", "ja": "作成日時（{tz}）"},
    "col.next_attempt": {"en": "Next attempt ({tz})", "ja": "次回の再送（{tz}）"},
    "col.sent": {"en": "Sent ({tz})", "ja": "送信日時（{tz}）"},
    "col.name": {"en": "Name", "ja": "名前"},
    "col.role": {"en": "Role", "ja": "権限"},
    "col.lang": {"en": "Language", "ja": "表示言語"},
    "col.cron": {"en": "When (cron)", "ja": "実行周期（cron）"},
    "col.tz": {"en": "Time zone", "ja": "タイムゾーン"},
    "col.targets": {"en": "Targets", "ja": "対象"},
    "col.ports": {"en": "Ports", "ja": "ポート"},
    "col.next_run": {"en": "Next run ({tz})", "ja": "次回実行（{tz}）"},
    "col.last_run": {"en": "Last run", "ja": "前回のスキャン"},
    "col.alerts": {"en": "Alerts", "ja": "通知先"},
    "col.formats": {"en": "Report formats", "ja": "レポート形式"},
    "col.windows": {"en": "Maintenance windows", "ja": "実行可能時間帯"},
    "col.jitter": {"en": "Jitter (s)", "ja": "開始の揺らぎ（秒）"},
    "col.scan_delay": {"en": "Delay between probes (s)", "ja": "送信間隔（秒）"},
    "col.drift_kinds": {"en": "Alert on", "ja": "通知する変化"},
    "col.baseline": {"en": "Baseline", "ja": "ベースライン"},
    "col.drift_persist": {"en": "Runs before a flip counts", "ja": "変化とみなす連続回数"},
    "col.actions": {"en": "Actions", "ja": "操作"},
    "col.framework": {"en": "Standard", "ja": "規格"},
    "col.requirements": {"en": "Requirements", "ja": "要件数"},
    "col.identity": {"en": "Identified by", "ja": "識別情報"},
    "col.count": {"en": "Devices", "ja": "台数"},
    "col.at": {"en": "When ({tz})", "ja": "日時（{tz}）"},
    "col.actor": {"en": "Who", "ja": "実行者"},
    "col.action": {"en": "Action", "ja": "操作"},
    "col.outcome": {"en": "Outcome", "ja": "結果"},
    "col.prefix": {"en": "Prefix", "ja": "プレフィックス"},
    "col.issued": {"en": "Issued ({tz})", "ja": "発行日時（{tz}）"},
    "col.created_by": {"en": "Issued by", "ja": "発行者"},
    "col.last_used": {"en": "Last used ({tz})", "ja": "最終使用日時（{tz}）"},
    # --- the fleet overview -----------------------------------------------------------------
    "fleet.title": {"en": "Fleet overview", "ja": "全体概況"},
    "fleet.site": {"en": "Site", "ja": "拠点"},
    "fleet.all_sites": {"en": "All sites", "ja": "すべての拠点"},
    "fleet.show": {"en": "Show", "ja": "表示"},
    "fleet.groups": {"en": "Devices by worst failure", "ja": "最も重い不合格による機器の分類"},
    "fleet.groups_note": {
        "en": "Each device is counted once, by the most severe failed check of its latest scan.",
        "ja": "各機器を、最新のスキャンで不合格となったチェックのうち最も重大度の高いもので"
        "1回だけ数えています。",
    },
    "fleet.devices_in_group": {"en": "{n} devices", "ja": "{n}台"},
    "fleet.statuses": {"en": "Requirement status by standard", "ja": "規格別の要件の評価結果"},
    "fleet.statuses_note": {
        "en": "Requirement statuses of every device's latest scan, added up per standard.",
        "ja": "各機器の最新スキャンにおける要件の評価結果を、規格ごとに合計しています。",
    },
    "fleet.no_statuses": {
        "en": "No requirement has been assessed yet.",
        "ja": "評価済みの要件はまだありません。",
    },
    "fleet.trend": {"en": "Failed checks over recent scans", "ja": "不合格件数の推移"},
    "fleet.latest_runs": {"en": "Latest scans", "ja": "最近のスキャン"},
    "fleet.devices": {"en": "Devices, worst first", "ja": "機器（重大度の高い順）"},
    "fleet.no_devices": {
        "en": "No device has been scanned yet. Add a schedule and run it.",
        "ja": "診断済みの機器はまだありません。定期スキャンを登録して実行してください。",
    },
    "chart.title": {"en": "Failed checks by severity", "ja": "重大度別の不合格件数"},
    "chart.desc": {
        "en": "Stacked bars, one per scan, oldest on the left: failed checks of every device "
        "by severity. {n} scans shown.",
        "ja": "スキャンごとの積み上げ棒グラフ（左が古い順）。全機器の不合格となったチェックの"
        "件数を重大度別に示します。表示しているスキャン：{n}件。",
    },
    "chart.y": {"en": "failed checks", "ja": "不合格件数"},
    "chart.x": {"en": "scan start ({tz})", "ja": "スキャン開始日時（{tz}）"},
    "chart.empty": {"en": "No scan yet", "ja": "スキャンの実績がまだありません"},
    "chart.bar": {
        "en": "{started} · {run}: {total} failed ({detail})",
        "ja": "{started}・{run}：不合格 {total}件（{detail}）",
    },
    "chart.bar_part": {"en": "{severity} {n}", "ja": "{severity} {n}件"},
    # --- devices ----------------------------------------------------------------------------
    "devices.title": {"en": "Devices", "ja": "機器"},
    "devices.none": {"en": "No devices yet.", "ja": "機器はまだ登録されていません。"},
    "device.title": {"en": "Device {address}", "ja": "機器 {address}"},
    "device.identity": {"en": "Identity and inventory", "ja": "識別情報と資産情報"},
    "device.history": {"en": "History", "ja": "スキャン履歴"},
    "device.no_history": {"en": "Not scanned yet.", "ja": "まだスキャンされていません。"},
    "device.findings": {"en": "Current findings", "ja": "現在の不合格"},
    "device.findings_note": {
        "en": "Failed checks of the latest scan ({run}), most severe first.",
        "ja": "最新のスキャン（{run}）で不合格となったチェック。重大度の高い順。",
    },
    "device.no_findings": {
        "en": "No check failed in the latest scan.",
        "ja": "最新のスキャンで不合格のチェックはありません。",
    },
    "device.drift": {
        "en": "Changes against the baseline",
        "ja": "ベースラインからの変化（ドリフト）",
    },
    "device.baseline": {
        "en": "Baseline: scan {run}.",
        "ja": "ベースライン：スキャン {run}",
    },
    "device.no_baseline": {
        "en": "No baseline accepted for this device yet: changes are compared with the "
        "previous scan only.",
        "ja": "この機器のベースラインはまだ承認されていません。"
        "変化は前回のスキャンとの比較のみです。",
    },
    "device.no_drift": {
        "en": "No change found in the latest scan.",
        "ja": "最新のスキャンで変化は検出されませんでした。",
    },
    "device.not_found": {"en": "No such device.", "ja": "該当する機器がありません。"},
    # --- runs -------------------------------------------------------------------------------
    "runs.title": {"en": "Scans", "ja": "スキャン履歴"},
    "runs.none": {"en": "No scan yet.", "ja": "スキャンの実績はまだありません。"},
    "run.title": {"en": "Scan {run}", "ja": "スキャン {run}"},
    "run.summary": {"en": "Summary", "ja": "概要"},
    "run.progress": {"en": "Progress", "ja": "進捗"},
    "run.progress_text": {
        "en": "{status}: {done} of {total} devices done",
        "ja": "{status}：{total}台中 {done}台完了",
    },
    "run.live": {
        "en": "This page follows the scan live.",
        "ja": "このページはスキャンの進捗を自動で表示します。",
    },
    "run.devices": {"en": "Devices in this scan", "ja": "このスキャンの機器"},
    "run.no_devices": {"en": "No device results yet.", "ja": "機器の結果はまだありません。"},
    "run.drift": {"en": "Changes (drift)", "ja": "変化（ドリフト）"},
    "run.no_drift": {
        "en": "No change against the baseline or the previous scan.",
        "ja": "ベースラインおよび前回のスキャンからの変化はありません。",
    },
    "run.alerts": {"en": "Alerts raised", "ja": "送信したアラート"},
    "run.no_alerts": {
        "en": "No alert for this scan.",
        "ja": "このスキャンのアラートはありません。",
    },
    "run.baseline": {"en": "Baseline", "ja": "ベースライン"},
    "run.accept": {"en": "Accept as baseline", "ja": "ベースラインとして承認"},
    "run.accept_device": {"en": "Accept this device", "ja": "この機器のみ承認"},
    "run.accept_note": {
        "en": "Accepting makes this scan's state of every device the reference that later "
        "scans are compared with. It is recorded in the audit log.",
        "ja": "承認すると、このスキャン時点の全機器の状態が、以降のスキャンの比較基準になります。"
        "承認は監査ログに記録されます。",
    },
    "run.accepted": {"en": "Accepted as baseline.", "ja": "ベースラインとして承認しました。"},
    "run.not_finished": {
        "en": "The scan is still going: it can be accepted when it has finished.",
        "ja": "スキャンの実行中です。完了後に承認できます。",
    },
    "run.reason": {"en": "Status detail", "ja": "状態の詳細"},
    "run.not_found": {"en": "No such scan.", "ja": "該当するスキャンがありません。"},
    "run.report": {"en": "Verdicts", "ja": "判定の内訳"},
    # --- schedules --------------------------------------------------------------------------
    "schedules.title": {"en": "Schedules", "ja": "定期スキャン"},
    "schedules.none": {"en": "No schedule yet.", "ja": "定期スキャンはまだ登録されていません。"},
    "schedules.add": {"en": "Add a schedule", "ja": "定期スキャンの登録"},
    "schedules.submit": {"en": "Add", "ja": "登録"},
    "schedules.active": {"en": "active", "ja": "有効"},
    "schedules.paused": {"en": "paused", "ja": "一時停止中"},
    "schedules.pause": {"en": "Pause", "ja": "一時停止"},
    "schedules.resume": {"en": "Resume", "ja": "再開"},
    "schedules.remove": {"en": "Remove", "ja": "削除"},
    "schedules.run_now": {"en": "Run now", "ja": "今すぐ実行"},
    "schedules.started": {"en": "Scan {run} started.", "ja": "スキャン {run} を開始しました。"},
    "schedules.help.name": {
        "en": "A short name, unique (letters, digits, - and _).",
        "ja": "重複しない短い名前（英数字、- と _）。",
    },
    "schedules.help.cron": {
        "en": "Five cron fields: minute hour day month weekday, e.g. 0 2 * * * for 02:00 "
        "every day.",
        "ja": "cron 形式の5項目（分 時 日 月 曜日）。例：0 2 * * * は毎日 2:00。",
    },
    "schedules.help.tz": {
        "en": "IANA time zone of the cron times, e.g. Asia/Tokyo.",
        "ja": "実行周期の時刻のタイムゾーン（IANA 形式、例：Asia/Tokyo）。",
    },
    "schedules.help.targets": {
        "en": "Addresses, ranges or networks, separated by spaces.",
        "ja": "IPアドレス、範囲またはネットワーク。空白で区切ります。",
    },
    "schedules.help.ports": {
        "en": "Port spec as for shinsa scan -p (empty: the profile's).",
        "ja": "shinsa scan -p と同じ指定（空欄ならプロファイルの既定）。",
    },
    "schedules.help.alerts": {
        "en": "One per line: webhook:URL, smtp:ADDRESS or syslog:udp://HOST:PORT.",
        "ja": "1行に1件：webhook:URL、smtp:メールアドレス、syslog:udp://ホスト:ポート。",
    },
    "schedules.help.formats": {
        "en": "Comma-separated, as for shinsa scan --format (json, html, csv, ...).",
        "ja": "shinsa scan --format と同じ（json、html、csv など）。カンマ区切り。",
    },
    "schedules.help.windows": {
        "en": "One per line, in the schedule's time zone, e.g. mon-fri 22:00-06:00. A scan "
        "never starts outside them and is stopped cleanly when its window closes. Empty: any "
        "time.",
        "ja": "1行に1件、定期スキャンのタイムゾーンで指定（例：mon-fri 22:00-06:00）。"
        "時間帯外には開始せず、時間帯が終わるとスキャンを安全に停止します。空欄なら制限なし。",
    },
    "schedules.help.jitter": {
        "en": "Start up to this many seconds late, at random (spreads the load of many schedules).",
        "ja": "開始をこの秒数までランダムに遅らせます（多数の定期スキャンの負荷を分散）。",
    },
    "schedules.help.scan_delay": {
        "en": "Seconds between packets to one device, for fragile OT devices (empty: none).",
        "ja": "同じ機器へのパケット送信の間隔（秒）。脆弱なOT機器向け。空欄なら間隔なし。",
    },
    "schedules.help.drift_kinds": {
        "en": "Comma-separated drift kinds that raise an alert (empty: every kind).",
        "ja": "通知する変化の種類をカンマ区切りで指定（空欄ならすべて）。",
    },
    "schedules.help.baseline": {
        "en": "The accepted baseline this schedule's drift is measured against.",
        "ja": "この定期スキャンの変化の比較基準とする承認済みベースラインの名前。",
    },
    "schedules.help.drift_persist": {
        "en": "A pass that turns inconclusive is a change only after this many runs in a row "
        "(a slow answer once is not drift).",
        "ja": "合格から判定不能への変化は、この回数連続した場合にのみ変化とみなします"
        "（一度だけの応答遅延は変化として扱いません）。",
    },
    "schedules.persist_short": {"en": "flips count after {n} runs", "ja": "{n}回連続で変化"},
    "schedules.error": {"en": "Not added: {reason}", "ja": "登録できませんでした：{reason}"},
    "schedules.busy": {
        "en": "A run of {name} is already going: it was not started again.",
        "ja": "{name} のスキャンは実行中のため、新たに開始しませんでした。",
    },
    "schedules.confirm_remove": {
        "en": "Removing a schedule keeps its past scans.",
        "ja": "削除しても過去のスキャン結果は残ります。",
    },
    # --- alerts -----------------------------------------------------------------------------
    "alerts.title": {"en": "Alerts", "ja": "アラート"},
    "alerts.note": {
        "en": "Every alert the service has queued: sent, waiting for a retry, or failed after "
        "its last attempt. None is dropped silently.",
        "ja": "サービスが送信キューに入れたすべてのアラートです（送信済み・再送待ち・"
        "最終試行後の送信失敗）。黙って破棄されるアラートはありません。",
    },
    "alerts.none": {"en": "No alert yet.", "ja": "アラートはまだありません。"},
    # --- inventory --------------------------------------------------------------------------
    "inventory.title": {"en": "Inventory", "ja": "資産台帳"},
    "inventory.note": {
        "en": "What the scans read from each device; a device is followed across address changes.",
        "ja": "スキャンで各機器から読み取った情報です。"
        "IPアドレスが変わっても同じ機器として追跡します。",
    },
    "inventory.none": {"en": "No device yet.", "ja": "機器はまだ登録されていません。"},
    # --- users ------------------------------------------------------------------------------
    "users.title": {"en": "Users", "ja": "ユーザー管理"},
    "users.add": {"en": "Add a user", "ja": "ユーザーの追加"},
    "users.submit": {"en": "Add", "ja": "追加"},
    "users.password": {
        "en": "Initial password (8 characters or more)",
        "ja": "初期パスワード（8文字以上）",
    },
    "users.disable": {"en": "Disable", "ja": "無効化"},
    "users.disabled": {"en": "disabled", "ja": "無効"},
    "users.enabled": {"en": "enabled", "ja": "有効"},
    "users.locked": {"en": "locked until {at}", "ja": "{at} までロック中"},
    "users.error": {"en": "Not done: {reason}", "ja": "実行できませんでした：{reason}"},
    "users.audit": {"en": "Audit log (latest)", "ja": "監査ログ（最新）"},
    "users.enable": {"en": "Enable", "ja": "有効化"},
    "users.disable_note": {
        "en": "Disabling a user ends their sessions at once and stops them from logging in; "
        "enabling lets them log in again. Both are recorded in the audit log.",
        "ja": "ユーザーを無効化すると、ログイン中のセッションは直ちに終了し、以後ログインできなく"
        "なります。有効化すると再びログインできます。いずれも監査ログに記録されます。",
    },
    "users.not_found": {"en": "No such user.", "ja": "該当するユーザーがありません。"},
    "users.refused_self": {
        "en": "You cannot disable your own account ({name}): ask another admin.",
        "ja": "自分自身のアカウント（{name}）は無効化できません。別の管理者に依頼してください。",
    },
    "users.refused_last_admin": {
        "en": "{name} is the last enabled admin: add or enable another admin first.",
        "ja": "{name} は有効な管理者の最後の1人のため、無効化できません。"
        "先に別の管理者を追加するか、有効化してください。",
    },
    "users.tokens": {"en": "API tokens", "ja": "APIトークン"},
    "users.tokens_note": {
        "en": "The service keeps only a hash of each token; the prefix tells them apart. A "
        "revoked token is refused from its next request, for good.",
        "ja": "サービスは各トークンのハッシュ値のみを保存しており、先頭の文字列（プレフィックス）"
        "で見分けられます。失効させたトークンは次のリクエストから拒否され、元に戻せません。",
    },
    "users.no_tokens": {"en": "No API token yet.", "ja": "APIトークンはまだ発行されていません。"},
    "users.token_active": {"en": "active", "ja": "有効"},
    "users.token_revoked": {"en": "revoked", "ja": "失効済み"},
    "users.never_used": {"en": "never", "ja": "未使用"},
    "users.revoke": {"en": "Revoke", "ja": "失効"},
    "users.add_token": {"en": "Issue an API token", "ja": "APIトークンの発行"},
    "users.token_submit": {"en": "Issue", "ja": "発行"},
    "users.token_name_help": {
        "en": "A name that says who uses it, e.g. siem (1 to 128 characters).",
        "ja": "利用するシステムや用途がわかる名前（例：siem、1〜128文字）。",
    },
    "users.token_created": {
        "en": "API token {name} issued. Copy it now: it is shown on this page only, and "
        "cannot be shown again.",
        "ja": "APIトークン {name} を発行しました。この値はこの画面にしか表示されず、"
        "再表示もできません。今すぐ控えてください。",
    },
    "users.token_value": {"en": "Token ({role})", "ja": "トークン（{role}）"},
    "users.token_not_found": {
        "en": "No API token named {name}.",
        "ja": "{name} という名前のAPIトークンはありません。",
    },
    "users.token_exists": {
        "en": "An API token named {name} exists already.",
        "ja": "{name} という名前のAPIトークンは既に存在します。",
    },
    "outcome.ok": {"en": "ok", "ja": "成功"},
    "outcome.fail": {"en": "failed", "ja": "失敗"},
    "outcome.locked": {"en": "locked", "ja": "ロック中"},
    "action.login": {"en": "log in", "ja": "ログイン"},
    "action.logout": {"en": "log out", "ja": "ログアウト"},
    "action.user.add": {"en": "user added", "ja": "ユーザー追加"},
    "action.user.disable": {"en": "user disabled", "ja": "ユーザー無効化"},
    "action.user.enable": {"en": "user enabled", "ja": "ユーザー有効化"},
    "action.token.add": {"en": "API token issued", "ja": "APIトークン発行"},
    "action.token.revoke": {"en": "API token revoked", "ja": "APIトークン失効"},
    "action.schedule.add": {"en": "schedule added", "ja": "定期スキャン登録"},
    "action.schedule.pause": {"en": "schedule paused", "ja": "定期スキャン一時停止"},
    "action.schedule.resume": {"en": "schedule resumed", "ja": "定期スキャン再開"},
    "action.schedule.remove": {"en": "schedule removed", "ja": "定期スキャン削除"},
    "action.schedule.run-now": {"en": "run now", "ja": "スキャン手動実行"},
    "action.baseline.accept": {"en": "baseline accepted", "ja": "ベースライン承認"},
    # --- progress (server-sent events) --------------------------------------------------------
    "progress.unknown": {"en": "unknown", "ja": "不明"},
}

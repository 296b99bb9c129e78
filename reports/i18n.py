"""Every user-visible string of the HTML report, in English and Japanese.

One catalogue so a test can check that no key lacks a language. The Japanese follows the
terms of the source guidebook (IoTセキュリティ手引書 小型機器編): 要件 for a requirement,
対策 for a countermeasure, 規格 for a standard, and its names for the requirements it
discusses (CR 1.5 認証機構管理, CR 1.11 認証ロック機能 …). Status, verdict and coverage
values are keyed by their enum value (`status.not_satisfied`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

Lang = Literal["en", "ja"]
LANGS: tuple[Lang, ...] = get_args(Lang)

CATALOGUE: Mapping[str, Mapping[Lang, str]] = {
    # the page
    "report.title": {
        "en": "shinsa compliance report",
        "ja": "shinsa セキュリティ要件 審査レポート",
    },
    "report.lede": {
        "en": "What a network scan shows, per device and per requirement, and what it cannot.",
        "ja": "ネットワークからの診断で分かること（機器別・要件別）と、分からないこと。",
    },
    "report.offline": {
        "en": "This file is self-contained: it loads nothing from the network.",
        "ja": "このファイルは単体で完結しており、ネットワークから何も読み込みません。",
    },
    "report.generated_by": {"en": "Rendered by shinsa", "ja": "作成: shinsa"},
    # navigation and section titles
    "nav.overview": {"en": "Overview", "ja": "概要"},
    "nav.devices": {"en": "Devices", "ja": "機器別"},
    "nav.requirements": {"en": "Requirements", "ja": "要件別"},
    "matrix.not_in_profile": {
        "en": "not a requirement of this device's profile",
        "ja": "この機器のプロファイルの要件ではありません",
    },
    "nav.manual": {"en": "Manual evidence", "ja": "人手による証跡"},
    "nav.method": {"en": "Method and mapping", "ja": "評価方法と要件対応"},
    "section.counts": {"en": "Requirement statuses", "ja": "要件の評価結果"},
    "section.charts": {"en": "Per standard", "ja": "規格別"},
    "section.matrix": {"en": "Devices × requirements", "ja": "機器 × 要件"},
    "section.services": {"en": "Services", "ja": "公開サービス"},
    "section.findings": {"en": "Findings", "ja": "検出事項"},
    "section.undecided": {
        "en": "Undecided checks",
        "ja": "判定できなかったチェック",
    },
    "section.all_results": {"en": "All check results", "ja": "全チェック結果"},
    "section.device_requirements": {
        "en": "Requirements on this device",
        "ja": "この機器の要件評価",
    },
    "section.how_assessed": {"en": "How shinsa assesses it", "ja": "shinsa の評価方法"},
    "section.failing_devices": {
        "en": "Devices that do not satisfy it",
        "ja": "要件を満たさない機器",
    },
    "section.other_devices": {"en": "Other devices", "ja": "その他の機器"},
    "section.statuses": {"en": "Requirement statuses", "ja": "要件の評価区分"},
    "section.verdicts": {"en": "Check verdicts", "ja": "チェックの判定"},
    "section.coverage": {"en": "Coverage", "ja": "評価範囲"},
    "section.profile": {"en": "Profile", "ja": "プロファイル"},
    "section.scope": {"en": "Scope", "ja": "診断範囲"},
    "section.accepted": {"en": "Accepted deviations", "ja": "承認済みの例外"},
    "section.checks": {
        "en": "Checks and the requirements they cite",
        "ja": "チェックと対応する要件",
    },
    # the run
    "run.id": {"en": "Run", "ja": "実行ID"},
    "run.status": {"en": "Run status", "ja": "実行状態"},
    "run.started": {"en": "Started", "ja": "開始"},
    "run.finished": {"en": "Finished", "ja": "終了"},
    "run_status.complete": {"en": "complete", "ja": "完了"},
    "run_status.interrupted": {"en": "interrupted", "ja": "中断"},
    "run_status.running": {"en": "running (killed?)", "ja": "実行中（強制終了？）"},
    "run.not_finished": {"en": "not finished", "ja": "未終了"},
    "run.profile": {"en": "Profile", "ja": "プロファイル"},
    "run.scanner": {"en": "Scanner", "ja": "スキャナ"},
    "run.exit_code": {"en": "Exit code", "ja": "終了コード"},
    "run.devices": {"en": "Devices", "ja": "機器数"},
    "run.services": {"en": "Services", "ja": "サービス数"},
    "run.results": {"en": "Check results", "ja": "チェック結果数"},
    "run.interrupted": {
        "en": "The scan did not complete: statuses rest on the checks that ran.",
        "ja": "診断は完了していません。評価結果は実行できたチェックのみに基づきます。",
    },
    "run.profile_changed": {
        "en": "The profile changed since the scan: statuses use the current mapping.",
        "ja": "診断後にプロファイルが変更されました。評価結果は現在の対応付けによります。",
    },
    "exit.0": {
        "en": "no requirement failed, nothing prevented a verdict",
        "ja": "不適合の要件なし、判定を妨げる要因なし",
    },
    "exit.1": {
        "en": "at least one requirement is not satisfied",
        "ja": "不適合の要件が1件以上あります",
    },
    "exit.3": {
        "en": "no failure, but errors or inconclusive results prevent a full verdict",
        "ja": "不適合はないが、エラーまたは判定不能の結果があり完全な判定はできません",
    },
    # statuses (scanner.judging.assess.Status), worst first in the report
    "status.satisfied": {"en": "satisfied", "ja": "適合"},
    "status.not_satisfied": {"en": "not satisfied", "ja": "不適合"},
    "status.partially_assessed": {"en": "partially assessed", "ja": "一部評価"},
    "status.not_assessed": {"en": "not assessed", "ja": "未評価"},
    "status.not_applicable": {"en": "not applicable", "ja": "該当なし"},
    "status.error": {"en": "error", "ja": "エラー"},
    "status_help.satisfied": {
        "en": "Every direct check passed and a network scan can show the whole requirement.",
        "ja": "直接のチェックがすべて合格し、要件全体をネットワークから確認できた。",
    },
    "status_help.not_satisfied": {
        "en": "A direct check failed and no active accepted deviation covers it.",
        "ja": "直接のチェックが不合格で、有効な承認済み例外がない。",
    },
    "status_help.partially_assessed": {
        "en": "Nothing failed, but the scan shows only part of the requirement, a check "
        "was inconclusive or skipped, or only a person's statement covers it. Never reported "
        "as satisfied.",
        "ja": "不合格はないが、ネットワークからは要件の一部しか確認できない、"
        "チェックが判定不能・未実施、または人手による証跡のみがある。適合とは報告しない。",
    },
    "status_help.not_assessed": {
        "en": "A network scan cannot assess it, or no check for it ran: it needs a person's "
        "evidence.",
        "ja": "ネットワークからは評価できない、または該当するチェックが実行されていない。"
        "人手による証跡が必要。",
    },
    "status_help.not_applicable": {
        "en": "Every mapped check was not applicable: the device has no such interface.",
        "ja": "対応するチェックがすべて該当なし（機器にそのインターフェースがない）。",
    },
    "status_help.error": {
        "en": "A check could not finish (timeout, reset): no verdict. An error is never a pass.",
        "ja": "チェックが完了しなかった（タイムアウト、切断など）。エラーは合格とみなさない。",
    },
    # verdicts (scanner.model.Verdict)
    "verdict.pass": {"en": "pass", "ja": "合格"},
    "verdict.fail": {"en": "fail", "ja": "不合格"},
    "verdict.inconclusive": {"en": "inconclusive", "ja": "判定不能"},
    "verdict.error": {"en": "error", "ja": "エラー"},
    "verdict.not_applicable": {"en": "not applicable", "ja": "該当なし"},
    "verdict.skipped": {"en": "skipped", "ja": "未実施"},
    "verdict_help.pass": {
        "en": "Positive evidence that the compliant state holds.",
        "ja": "あるべき状態であることを示す証跡がある。",
    },
    "verdict_help.fail": {
        "en": "Positive evidence that it does not.",
        "ja": "あるべき状態でないことを示す証跡がある。",
    },
    "verdict_help.inconclusive": {
        "en": "The check ran; the evidence does not decide.",
        "ja": "チェックは実行したが、証跡からは判定できない。",
    },
    "verdict_help.error": {
        "en": "The check could not finish: timeout, reset, crash.",
        "ja": "チェックが完了しなかった（タイムアウト、切断、異常終了）。",
    },
    "verdict_help.not_applicable": {
        "en": "Nothing to test: the service or feature is absent.",
        "ja": "対象がない（サービスや機能が存在しない）。",
    },
    "verdict_help.skipped": {
        "en": "Not run by choice, e.g. intrusive and not allowed by the profile.",
        "ja": "意図的に実行していない（例: 侵襲的なチェックをプロファイルが許可していない）。",
    },
    # coverage (scanner.judging.profiles.Coverage)
    "coverage.full": {"en": "full", "ja": "全体"},
    "coverage.partial": {"en": "partial", "ja": "一部"},
    "coverage.none": {"en": "none", "ja": "評価不可"},
    "coverage_help.full": {
        "en": "A network scan can show the whole requirement.",
        "ja": "要件全体をネットワークから確認できる。",
    },
    "coverage_help.partial": {
        "en": "A network scan shows part of it; at best partially assessed.",
        "ja": "ネットワークからは一部のみ確認できる（最良でも「一部評価」）。",
    },
    "coverage_help.none": {
        "en": "A network scan cannot show it; it needs a person's evidence.",
        "ja": "ネットワークからは確認できない。人手による証跡が必要。",
    },
    # table headings and labels
    "col.device": {"en": "Device", "ja": "機器"},
    "col.address": {"en": "Address", "ja": "アドレス"},
    "col.label": {"en": "Label", "ja": "名称"},
    "col.service": {"en": "Service", "ja": "サービス"},
    "col.protocol": {"en": "Protocol", "ja": "プロトコル"},
    "col.tls": {"en": "TLS", "ja": "TLS"},
    "col.product": {"en": "Product", "ja": "製品"},
    "col.banner": {"en": "Banner", "ja": "バナー"},
    "col.note": {"en": "Note", "ja": "備考"},
    "col.check": {"en": "Check", "ja": "チェック"},
    "col.verdict": {"en": "Verdict", "ja": "判定"},
    "col.reason": {"en": "Reason", "ja": "理由"},
    "col.status": {"en": "Status", "ja": "評価"},
    "col.requirement": {"en": "Requirement", "ja": "要件"},
    "col.title": {"en": "Title", "ja": "名称"},
    "col.standard": {"en": "Standard", "ja": "規格"},
    "col.security_level": {"en": "Security level", "ja": "セキュリティレベル"},
    "col.role": {"en": "Role", "ja": "役割"},
    "col.why": {"en": "Why it is evidence", "ja": "証跡となる理由"},
    "col.method": {"en": "Method", "ja": "判定方法"},
    "col.cited_by": {"en": "Requirements", "ja": "対応する要件"},
    "col.approved_by": {"en": "Approved by", "ja": "承認者"},
    "col.expires": {"en": "Expires", "ja": "有効期限"},
    "col.target": {"en": "Device", "ja": "対象機器"},
    "col.file": {"en": "File", "ja": "ファイル"},
    "col.digest": {"en": "SHA-256", "ja": "SHA-256"},
    "col.count": {"en": "Count", "ja": "件数"},
    "col.meaning": {"en": "Meaning", "ja": "意味"},
    "col.total": {"en": "Total", "ja": "合計"},
    "label.evidence": {"en": "Evidence", "ja": "証跡"},
    "label.evidence_details": {"en": "details", "ja": "詳細"},
    "label.remediation": {"en": "Remediation", "ja": "対策"},
    "label.breaks": {"en": "Not satisfied", "ja": "不適合となる要件"},
    "label.accepted": {"en": "Accepted deviation", "ja": "承認済みの例外"},
    "label.acceptance_expired": {
        "en": "Acceptance expired: counts as a fail again",
        "ja": "例外の承認期限切れ（再び不合格として扱う）",
    },
    "label.approved_by": {"en": "approved by", "ja": "承認者"},
    "label.until": {"en": "until", "ja": "期限"},
    "label.device_level": {"en": "device", "ja": "機器全体"},
    "label.direct": {"en": "direct", "ja": "直接"},
    "label.supporting": {"en": "supporting", "ja": "補助"},
    "label.related_note": {
        "en": "Supporting checks are shown beside a requirement but never decide its status.",
        "ja": "補助のチェックは参考として示すのみで、要件の評価結果は左右しない。",
    },
    "label.unfinished": {
        "en": "Not every planned check ran on this device (interrupted or failed scan).",
        "ja": "この機器では予定したチェックの一部が実行されていません（診断の中断または失敗）。",
    },
    "label.unfinished_reason": {"en": "Reason", "ja": "理由"},
    "label.none": {"en": "none", "ja": "なし"},
    "label.yes": {"en": "yes", "ja": "あり"},
    "label.no": {"en": "no", "ja": "なし"},
    "label.no_services": {"en": "No open port was found.", "ja": "開いているポートはありません。"},
    "label.no_findings": {
        "en": "No failed check on this device.",
        "ja": "この機器に不合格のチェックはありません。",
    },
    "label.no_failing_devices": {
        "en": "Every device satisfies it, or it could not be decided; see below.",
        "ja": "不適合の機器はありません（判定できなかった機器は下記参照）。",
    },
    "label.no_checks": {
        "en": "No check of shinsa gives evidence for it.",
        "ja": "このレポートのチェックでは証跡を得られません。",
    },
    "label.no_accepted": {"en": "None.", "ja": "なし。"},
    "label.legend": {"en": "Legend", "ja": "凡例"},
    "label.matrix_help": {
        "en": "A row per device, a column per requirement that a check is mapped to or manual "
        "evidence covers. A cell links to the device; a column heading to the requirement. "
        "The requirements no network scan can assess are listed once, below.",
        "ja": "行が機器、列が要件（チェックが対応付けられているか、人手による証跡がある要件）"
        "です。セルは機器のページへ、列見出しは要件のページへのリンクです。"
        "ネットワークからは評価できない要件は、下記に一度だけ示します。",
    },
    "label.chart_help": {
        "en": "Each bar counts the devices per status for one requirement. The overall bar "
        "counts every requirement on every device; its dashed segment is the requirements no "
        "network scan can assess.",
        "ja": "各棒グラフは、要件ごとに評価区分別の機器数を示します。「全体」の棒はすべての"
        "要件・機器を数え、破線の部分はネットワークからは評価できない要件です。",
    },
    "label.all_requirements": {"en": "overall", "ja": "全体"},
    "label.guidebook_term": {"en": "Guidebook term", "ja": "手引書での名称"},
    "label.allow": {"en": "Allow-list", "ja": "許可リスト"},
    "label.ports": {"en": "Ports", "ja": "ポート"},
    "label.intrusive": {"en": "Intrusive checks allowed", "ja": "侵襲的チェックの許可"},
    "label.status_rules": {
        "en": "For each device and requirement, over its direct checks, the first matching "
        "rule decides:",
        "ja": "機器・要件ごとに、直接のチェック結果に対して最初に当てはまる規則で決まります。",
    },
    "rule.not_assessed": {
        "en": "coverage none, or no direct check produced a result; and no manual evidence",
        "ja": "評価範囲が「評価不可」、または直接のチェック結果がなく、人手による証跡もない",
    },
    "rule.not_satisfied": {
        "en": "any fail not covered by an active accepted deviation",
        "ja": "有効な承認済み例外のない不合格が1件以上",
    },
    "rule.error": {"en": "any error", "ja": "エラーが1件以上"},
    "rule.not_applicable": {
        "en": "every result not applicable",
        "ja": "すべての結果が該当なし",
    },
    "rule.partially_assessed": {
        "en": "nothing measured but manual evidence; or any inconclusive or skipped; or passes "
        "with coverage partial",
        "ja": "ネットワークからの結果はないが人手による証跡がある、判定不能・未実施が1件以上、"
        "または合格だが評価範囲が「一部」",
    },
    "rule.satisfied": {"en": "passes, coverage full", "ja": "合格、評価範囲が「全体」"},
    "manual.intro": {
        "en": "Requirements a network scan cannot show (coverage none) need a person's "
        "evidence: documents, configuration reviews, interviews. Evidence supplied as a YAML "
        "file is listed here as such, never mixed with scan results.",
        "ja": "ネットワークからは確認できない要件（評価範囲「評価不可」）には、文書・設定の確認・"
        "聞き取りなど人手による証跡が必要です。YAMLファイルで提出された証跡はここに示し、"
        "診断結果とは区別します。",
    },
    "manual.not_verified": {
        "en": "Statements are listed as given: the scan verified none of them. Where nothing "
        "was measured, a statement makes a requirement partially assessed, never satisfied; "
        "where something was measured, the measurement decides and the statement is listed "
        "beside it.",
        "ja": "証跡は提出されたとおりに記載しており、診断では検証していません。ネットワークから"
        "何も確認できない要件は、証跡があれば「一部評価」とし、「適合」とはしません。"
        "ネットワークから確認できた要件は診断結果で評価し、証跡は併記のみとします。",
    },
    "manual.statements": {"en": "Statements recorded", "ja": "記録された証跡"},
    "manual.out_of_scope": {
        "en": "not in this profile's scope",
        "ja": "このプロファイルの対象外",
    },
    "col.statement": {"en": "Statement", "ja": "内容"},
    "col.by": {"en": "By", "ja": "記載者"},
    "col.date": {"en": "Date", "ja": "日付"},
    "col.document": {"en": "Document", "ja": "根拠文書"},
    "col.devices": {"en": "Devices", "ja": "対象機器"},
    "label.every_device": {"en": "every device", "ja": "すべての機器"},
    "run.profile_digest": {"en": "Profile digest", "ja": "プロファイルのダイジェスト"},
    "manual.none_recorded": {
        "en": "No manual evidence recorded.",
        "ja": "人手による証跡は記録されていません。",
    },
    "manual.needed": {
        "en": "Requirements that need a person's evidence",
        "ja": "人手による証跡が必要な要件",
    },
    "manual.nothing_needed": {
        "en": "Every requirement in scope has network evidence.",
        "ja": "対象のすべての要件にネットワークからの証跡があります。",
    },
    # the requirements no network check can assess (coverage none, no manual evidence)
    "nav.not_assessable": {"en": "Not assessable", "ja": "評価不可の要件"},
    "section.not_assessable": {
        "en": "Not assessable over the network",
        "ja": "ネットワークからは評価できない要件",
    },
    "not_assessable.intro": {
        "en": "No network check can assess these requirements (coverage none) and no manual "
        "evidence covers them, so each is not assessed on every device. They are listed here "
        "once instead of as a matrix column, a section of their own and a row per device; the "
        "counts and the charts include them. Each needs a person's evidence.",
        "ja": "以下の要件はネットワークからのチェックでは評価できず（評価範囲「評価不可」）、"
        "人手による証跡もないため、すべての機器で「未評価」です。マトリクスの列・要件別の節・"
        "機器ごとの行には載せず、ここに一度だけ示します（件数とグラフには含みます）。"
        "いずれも人手による証跡が必要です。",
    },
    "not_assessable.count": {
        "en": "Not assessable over the network: {n} requirements",
        "ja": "ネットワークからは評価できない要件: {n}件",
    },
    "not_assessable.none": {
        "en": "Every requirement in scope has a mapped check or manual evidence.",
        "ja": "対象のすべての要件に、対応するチェックまたは人手による証跡があります。",
    },
    "not_assessable.in_counts": {
        "en": "Of those not assessed, {n} are requirements no network scan can assess "
        "({r} requirements × {d} devices).",
        "ja": "未評価のうち {n} 件（{r} 要件 × {d} 機器）は、ネットワークからは評価できない"
        "要件です。",
    },
    "not_assessable.segment": {
        "en": "not assessable over the network",
        "ja": "ネットワークから評価不可",
    },
    "device.not_assessed": {
        "en": "Not assessed for this device: {n} requirements",
        "ja": "この機器で未評価の要件: {n}件",
    },
    "device.unassessable": {
        "en": "{n} of them no network scan can assess, on any device; listed once",
        "ja": "うち {n} 件はネットワークからは評価できない要件（全機器共通、一覧は一か所）",
    },
    "method.intro": {
        "en": "Probes return check results (verdicts with evidence); they never decide "
        "compliance. The profile maps each check to requirements, as direct evidence (a fail "
        "is a finding) or supporting evidence (shown, never deciding), and says how much of "
        "each requirement a network can show.",
        "ja": "プローブはチェック結果（判定と証跡）を返すだけで、適合の判断はしません。"
        "プロファイルが各チェックを要件に対応付け（直接: 不合格は検出事項、補助: 参考表示のみ）、"
        "各要件をネットワークからどこまで確認できるかを定めます。",
    },
    # the title block (scanner/judging/report_meta.py) and the executive summary
    "meta.product": {"en": "Product", "ja": "製品名"},
    "meta.model": {"en": "Model", "ja": "型番"},
    "meta.firmware": {"en": "Firmware", "ja": "ファームウェア"},
    "meta.organisation": {"en": "Test organisation", "ja": "試験実施機関"},
    "meta.tester": {"en": "Tester", "ja": "試験担当者"},
    "meta.customer": {"en": "Customer", "ja": "提出先"},
    "meta.scan_date": {"en": "Scan date", "ja": "診断日"},
    "meta.standards": {"en": "Standards", "ja": "対象規格"},
    "meta.time_zone": {"en": "Times are shown in", "ja": "日時の表示"},
    "nav.summary": {"en": "Summary", "ja": "総括"},
    "nav.findings": {"en": "Findings", "ja": "検出事項"},
    "nav.appendix": {"en": "Method appendix", "ja": "付録: 評価方法"},
    "section.summary": {"en": "Executive summary", "ja": "総括"},
    "section.summary_findings": {
        "en": "Findings, worst first",
        "ja": "検出事項（重大度の高い順）",
    },
    "summary.intro": {
        "en": "Per device: the failures found, by severity, and the requirement statuses per "
        "standard. A failure covered by an accepted deviation is not counted.",
        "ja": "機器ごとに、検出した不合格の件数（重大度別）と規格ごとの要件の評価結果を示します。"
        "承認済みの例外に該当する不合格は数えません。",
    },
    "summary.no_findings": {
        "en": "No failure was found on any device in what a network can test.",
        "ja": "ネットワークから確認できる範囲では、どの機器にも不合格はありません。",
    },
    "summary.devices_affected": {"en": "Devices", "ja": "該当機器"},
    "headline.clean": {
        "en": "No failure found in what a network can test ({n} checks)",
        "ja": "ネットワークから確認できる範囲で不合格なし（{n}件のチェック）",
    },
    "headline.clean_one": {
        "en": "No failure found in what a network can test (1 check)",
        "ja": "ネットワークから確認できる範囲で不合格なし（1件のチェック）",
    },
    "headline.unfinished": {
        "en": "The scan did not finish on this device: what did not run is not known.",
        "ja": "この機器の診断は完了していません（未実施のチェックの結果は不明）。",
    },
    "headline.nothing": {
        "en": "No check reached a verdict on this device (nothing passed, nothing failed)",
        "ja": "この機器ではどのチェックも判定に至りませんでした（合格・不合格ともになし）",
    },
    "headline.count": {"en": "{n} {severity}", "ja": "{severity} {n}件"},
    "headline.sep": {"en": ", ", "ja": "、"},
    "col.headline": {"en": "Result", "ja": "結果"},
    "col.severity": {"en": "Severity", "ja": "重大度"},
    "col.finding": {"en": "Finding", "ja": "検出事項"},
    "col.references": {"en": "References", "ja": "参照"},
    "label.severity_reason": {"en": "why this severity", "ja": "重大度の理由"},
    "label.references": {"en": "References", "ja": "参照"},
    "label.argv": {"en": "Command line", "ja": "コマンドライン"},
    "label.run_status": {"en": "Run status", "ja": "実行状態"},
    # Check.severity (scanner/probe.py): the words scanners use, worst first
    "severity.critical": {"en": "critical", "ja": "緊急"},
    "severity.high": {"en": "high", "ja": "高"},
    "severity.medium": {"en": "medium", "ja": "中"},
    "severity.low": {"en": "low", "ja": "低"},
    "severity.info": {"en": "info", "ja": "情報"},
    "severity_help.critical": {
        "en": "A way in as it stands (a factory login, an unprotected page).",
        "ja": "そのままで侵入口となる（初期パスワードでのログイン、保護されていない画面など）。",
    },
    "severity_help.high": {
        "en": "Exposes a login, a session or traffic to an attacker on the network.",
        "ja": "ネットワーク上の攻撃者にログイン・セッション・通信内容をさらす。",
    },
    "severity_help.medium": {
        "en": "Weakens a protection an attacker must still get past.",
        "ja": "攻撃者が突破すべき防御を弱める。",
    },
    "severity_help.low": {
        "en": "Hardening: worth fixing, not a way in by itself.",
        "ja": "堅牢化の項目。対処が望ましいが、それ自体は侵入口ではない。",
    },
    "severity_help.info": {
        "en": "A gap an auditor records; no exposure by itself.",
        "ja": "審査で記録すべき不備。それ自体による危険はない。",
    },
    "section.severities": {"en": "Severities", "ja": "重大度"},
    "appendix.intro": {
        "en": "How this report was made: the run, the profile and what the scan was allowed to "
        "reach.",
        "ja": "このレポートの作成方法（診断の実行、プロファイル、診断が許可された範囲）。",
    },
    "section.run": {"en": "The run", "ja": "診断の実行"},
    "method.checks_in_html": {
        "en": "Each check's method, severity, remediation and the requirements citing it are "
        "listed in the HTML report (left out of print).",
        "ja": "各チェックの判定方法・重大度・対策・対応する要件の一覧は、HTML版レポートに記載"
        "しています（印刷では省略）。",
    },
    "section.method": {"en": "Method and mapping", "ja": "評価方法と要件対応"},
}


def translator(lang: Lang) -> Callable[[str], str]:
    """`_(key)` for one language; an unknown key is a bug, so it raises."""
    if lang not in LANGS:
        raise ValueError(f"unknown report language {lang!r}; available: {', '.join(LANGS)}")

    def _(key: str) -> str:
        return CATALOGUE[key][lang]

    return _


def pick(lang: str, en: str, ja: str) -> str:
    """A device-facing text in the report's language: the Japanese where one was written,
    else the English (a plugin's check, a run stored before translations existed)."""
    return ja if lang == "ja" and ja else en

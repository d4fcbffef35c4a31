"""The stream dialog's "Step by step…": the doctor's steps in the window, against the real simulator."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from ayla_monitor.dss.diagnosis import STEP_TITLES, Step
from ayla_monitor.keystore import Keystore
from ayla_monitor.simulator.server import Simulator, SimulatorConfig
from ayla_monitor.ui.doctor_dialog import DoctorDialog
from ayla_monitor.ui.stream_dialog import StreamDialog
from tests.ui.conftest import wait_until

KEY = "0123456789abcdef0123456789abcdef"
WRONG = "feedfacefeedfacefeedfacefeedface"


def results(dialog: DoctorDialog) -> dict[str, str]:
    tree = dialog.steps
    return {tree.topLevelItem(i).text(0): tree.topLevelItem(i).text(1) for i in range(tree.topLevelItemCount())}


def test_steps_of_a_good_and_a_rejected_key(qapp: QApplication, qloop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    simulator = Simulator(SimulatorConfig(keys={KEY: "connectivity"}, heartbeat=0.1, rate=0, devices=2))
    stream_dialog = StreamDialog(keystore=Keystore(fallback_path=tmp_path / "k.json", use_keyring=False))

    async def run() -> tuple[dict[str, str], str, dict[str, str], str, str]:
        await simulator.start("127.0.0.1", 0)
        try:
            stream_dialog.custom_radio.setChecked(True)
            stream_dialog.url_edit.setText(simulator.url)
            stream_dialog.key_edit.setText(KEY)
            assert stream_dialog.steps_button.isEnabled()
            good = stream_dialog.open_doctor()
            assert isinstance(good, DoctorDialog)
            await wait_until(lambda: good.diagnosis is not None, what="the doctor's report")
            good_results, good_report = results(good), good.report.toPlainText()
            good.copy_report()
            good.close()
            stream_dialog.key_edit.setText(WRONG)
            bad = stream_dialog.open_doctor()
            assert isinstance(bad, DoctorDialog)
            await wait_until(lambda: bad.diagnosis is not None, what="the doctor's report")
            report = bad.report.toPlainText()
            verdict = bad.verdict.text()
            return good_results, good_report, results(bad), report, verdict
        finally:
            await simulator.stop()

    good, good_report, bad, report, verdict = qloop.run_until_complete(asyncio.wait_for(run(), 60))
    assert good[STEP_TITLES[Step.UPGRADE]] == "ok" and good[STEP_TITLES[Step.HEARTBEAT]] == "ok"
    assert good_report.endswith("Result: every step passed.")
    assert QGuiApplication.clipboard().text() == good_report
    assert bad[STEP_TITLES[Step.TCP]] == "ok"
    assert bad[STEP_TITLES[Step.UPGRADE]] == "FAILED"
    assert bad[STEP_TITLES[Step.HEARTBEAT]] == "skipped"
    assert "HTTP 401" in verdict and "rejected the stream key" in verdict
    assert WRONG not in report and "feed…face" in report
    stream_dialog.close()

"""The HTML report in a real browser: Debian's headless Chromium, driven by Selenium through
chromedriver, opens the reports of a classification and a segmentation run, takes screenshots,
reads the console and checks the plots, tables and pictures that users look at."""
import json
import os
import re
import shutil
import tempfile
import unittest

import numpy as np
from PIL import Image

from medpipe_testlib import read_csv_rows, run, write_event


def read_json(path):
    with open(path) as f:
        return json.load(f)


try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
except ImportError:  # pragma: no cover
    webdriver = None

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
HAVE_BROWSER = webdriver is not None and os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)


def open_browser(profile_dir):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic", f"--user-data-dir={profile_dir}", "--window-size=1280,1800"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def console_problems(driver):
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]


def check(result):
    if result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}:\n{result.stderr[-3000:]}")


@unittest.skipUnless(HAVE_BROWSER, "chromium, chromium-driver or python3-selenium is not installed")
class ReportInBrowser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="medpipe_report_")
        t = cls.tmp
        check(run(["synth", "--task", "classify", "--out", "train", "--count", 160, "--size", 32,
                   "--seed", 1], cwd=t))
        check(run(["synth", "--task", "classify", "--out", "test", "--count", 80, "--size", 32,
                   "--format", "dicom", "--seed", 2], cwd=t))
        # one unreadable input: skipped, and listed in the report
        with open(os.path.join(t, "test", "images", "broken.dcm"), "wb") as f:
            f.write(b"DICM but not really")
        with open(os.path.join(t, "test", "labels.csv"), "a") as f:
            f.write("broken,1\n")
        write_event(os.path.join(t, "c.json"), {"images_bucket": "train", "epochs": 5, "batch_size": 16,
                                                "cnn_width": 8, "model_bucket_name": "cls", "seed": 1})
        check(run(["run", "c.json"], cwd=t))
        check(run(["run", "c.json", "--set", "is_train=false", "--set", "images_bucket=test"], cwd=t))
        for out, seed, count in (("seg_train", 3, 16), ("seg_test", 4, 8)):
            check(run(["synth", "--task", "segment", "--out", out, "--count", count, "--size", 48,
                       "--seed", seed], cwd=t))
        write_event(os.path.join(t, "s.json"), {"images_bucket": "seg_train", "label_style": "array",
                                                "epochs": 3, "optimizer": "adam", "learning_rate": 0.002,
                                                "model_bucket_name": "seg", "seed": 1, "unet_width": 4,
                                                "unet_depth": 2})
        check(run(["run", "s.json"], cwd=t))
        check(run(["run", "s.json", "--set", "is_train=false", "--set", "images_bucket=seg_test"], cwd=t))
        # survival: a Cox model on a small table (no R needed)
        rng = np.random.default_rng(5)
        with open(os.path.join(t, "cov.csv"), "w") as f, open(os.path.join(t, "surv.csv"), "w") as g:
            f.write("image,age,stage\n")
            g.write("image,time,event\n")
            for i in range(120):
                age, stage = rng.normal(60, 10), rng.choice(["I", "II", "III"])
                hazard = np.exp(0.03 * (age - 60) + {"I": 0, "II": 0.5, "III": 1.0}[stage])
                f.write(f"p{i},{age:.1f},{stage}\n")
                g.write(f"p{i},{rng.exponential(365 / hazard) + 1:.1f},{int(rng.random() < 0.7)}\n")
        write_event(os.path.join(t, "v.json"), {"label_style": "survival", "features_table": "cov.csv",
                                                "labels": "surv.csv", "model_bucket_name": "surv"})
        check(run(["run", "v.json"], cwd=t))
        check(run(["run", "v.json", "--set", "is_train=false"], cwd=t))
        cls.driver = open_browser(os.path.join(t, "chromium-profile"))

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def open(self, *parts):
        path = os.path.join(self.tmp, *parts)
        self.driver.get("file://" + path)
        return path

    def visible(self, css):
        elements = self.driver.find_elements(By.CSS_SELECTOR, css)
        self.assertTrue(elements, f"no element {css}")
        size = elements[0].size
        self.assertTrue(size["width"] > 50 and size["height"] > 50, f"{css} is {size}")
        return elements[0]

    def screenshot_is_a_picture(self, name):
        path = os.path.join(self.tmp, name)
        self.assertTrue(self.driver.save_screenshot(path))
        pixels = np.asarray(Image.open(path).convert("RGB"))
        self.assertGreater(pixels.shape[0] * pixels.shape[1], 500 * 500)
        # a rendered page of plots has many colours, not a blank or error page
        colours = np.unique(pixels.reshape(-1, 3)[::7], axis=0)
        self.assertGreater(len(colours), 50)

    def test_console_errors_are_seen(self):
        """The console check itself: a page that logs an error is caught."""
        page = os.path.join(self.tmp, "bad.html")
        with open(page, "w") as f:
            f.write("<html><body><script>console.error('broken on purpose')</script></body></html>")
        self.driver.get("file://" + page)
        self.assertTrue(any("broken on purpose" in e["message"] for e in console_problems(self.driver)))

    def test_classification_report(self):
        path = self.open("results", "cls", "report.html")
        self.assertEqual(console_problems(self.driver), [])
        self.assertEqual(self.driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready"), "1")
        for css in ("#confusion-matrix", "#roc-curve", "#pr-curve", "#calibration-curve", "#loss-curve",
                    "#metric-curve", "#per-class", "#summary"):
            self.visible(css)
        # the ROC curve is drawn, and its AUC is the one in metrics.json
        m = read_json(os.path.join(self.tmp, "results", "cls", "metrics.json"))
        roc = self.driver.find_element(By.ID, "roc-curve")
        self.assertTrue(roc.find_elements(By.CSS_SELECTOR, "polyline.series"))
        self.assertIn("AUC %.3f" % m["roc_auc"], self.driver.page_source)
        # the confusion matrix shows the counts of metrics.json
        cells = self.driver.find_elements(By.CSS_SELECTOR, "#confusion-matrix rect.cell")
        self.assertEqual(len(cells), 4)
        titles = [c.find_element(By.TAG_NAME, "title").get_attribute("textContent") for c in cells]
        cm = m["confusion_matrix"]
        self.assertIn(f"true 1, predicted 0: {cm[1][0]} ", " ".join(titles) + " ")
        # the loss curve has one point per epoch for training and validation
        loss = self.driver.find_element(By.ID, "loss-curve")
        lines = loss.find_elements(By.CSS_SELECTOR, "polyline.series")
        self.assertEqual(len(lines), 2)
        self.assertEqual(len(lines[0].get_attribute("points").split()), 5)
        # the broken input is listed, with its reason
        skipped = self.driver.find_element(By.ID, "skipped").text
        self.assertIn("broken", skipped)
        self.screenshot_is_a_picture("classification.png")
        with open(path) as f:
            html = f.read()
        self.assertIsNone(re.search(r"(src|href)=['\"]?(https?:)?//", html), "the report fetches something")

    def test_survival_report(self):
        self.open("results", "surv", "report.html")
        self.assertEqual(console_problems(self.driver), [])
        for css in ("#km", "#forest", "#calibration", "#td-auc", "#brier", "#coefficients"):
            self.visible(css)
        # two Kaplan-Meier curves (low and high risk), one forest segment per coefficient
        km = self.driver.find_element(By.ID, "km")
        self.assertEqual(len(km.find_elements(By.CSS_SELECTOR, "polyline.series")), 2)
        forest = self.driver.find_element(By.ID, "forest")
        self.assertEqual(len(forest.find_elements(By.CSS_SELECTOR, "polyline.series")), 3)
        m = read_json(os.path.join(self.tmp, "results", "surv", "metrics.json"))
        self.assertIn("Harrell's C %.4f" % m["harrell_c"], self.driver.page_source)
        rows = self.driver.find_elements(By.CSS_SELECTOR, "#coefficients tbody tr")
        self.assertEqual([r.find_elements(By.TAG_NAME, "td")[0].text for r in rows],
                         ["age", "stage=II", "stage=III"])
        self.screenshot_is_a_picture("survival.png")

    def test_segmentation_report(self):
        self.open("results", "seg", "report.html")
        self.assertEqual(console_problems(self.driver), [])
        self.visible("#dice-per-image")
        table = self.visible("#per-image")
        dice_of = lambda: [float(r.find_elements(By.TAG_NAME, "td")[1].text)
                           for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
        first = dice_of()
        self.assertEqual(len(first), 8)
        self.assertEqual(first, sorted(first))  # worst first
        header = table.find_elements(By.CSS_SELECTOR, "th")[1]
        header.click()  # ascending
        header.click()  # descending
        self.assertEqual(dice_of(), sorted(first, reverse=True))
        names = [r.find_elements(By.TAG_NAME, "td")[0].text for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
        self.assertEqual(sorted(names), [f"case_{i:05d}" for i in range(8)])
        table.find_elements(By.CSS_SELECTOR, "th")[0].click()  # by name
        names = [r.find_elements(By.TAG_NAME, "td")[0].text for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
        self.assertEqual(names, sorted(names))
        # the best and worst cases as decoded pictures: image, truth, prediction side by side
        pictures = self.driver.find_elements(By.CSS_SELECTOR, "#best-cases img, #worst-cases img")
        self.assertEqual(len(pictures), 6)
        for img in pictures:
            self.assertGreaterEqual(int(img.get_attribute("naturalWidth")), 3 * 48)  # 48 px panels
            self.assertEqual(img.size["height"], 144)  # shown enlarged
        # the worst case shown is the lowest Dice of metrics.json
        m = read_json(os.path.join(self.tmp, "results", "seg", "metrics.json"))
        worst = min(m["per_image"], key=lambda r: r["dice"])
        caption = self.driver.find_element(By.CSS_SELECTOR, "#worst-cases figcaption").text
        self.assertTrue(caption.startswith(worst["image"] + ": Dice"), caption)
        self.screenshot_is_a_picture("segmentation.png")


if __name__ == "__main__":
    unittest.main()

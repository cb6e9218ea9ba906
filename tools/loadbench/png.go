package loadbench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Chromium is Debian's headless browser, which scripts/browser.sh installs.
const Chromium = "/usr/bin/chromium"

// RenderPNG renders the page at htmlPath to pngPath with headless Chromium,
// offline (the page fetches nothing).
func RenderPNG(ctx context.Context, htmlPath, pngPath string) error {
	abs, err := filepath.Abs(htmlPath)
	if err != nil {
		return err
	}
	out, err := filepath.Abs(pngPath)
	if err != nil {
		return err
	}
	if _, err := os.Stat(Chromium); err != nil {
		return fmt.Errorf("render png: %s is missing: run bash scripts/browser.sh", Chromium)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	profile, err := os.MkdirTemp("", "loadbench-chromium")
	if err != nil {
		return err
	}
	defer os.RemoveAll(profile)
	cmd := exec.CommandContext(ctx, Chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--no-first-run", "--user-data-dir="+profile, "--window-size=1280,2150", "--screenshot="+out, "file://"+abs)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("render png: chromium: %w: %s", err, b)
	}
	if st, err := os.Stat(out); err != nil || st.Size() == 0 {
		return fmt.Errorf("render png: chromium wrote no %s", out)
	}
	return nil
}

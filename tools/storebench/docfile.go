package storebench

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// The markers around the section this benchmark owns in a markdown file.
// Everything outside them belongs to others and is left as it is.
const (
	SectionStart = "<!-- storebench:start -->"
	SectionEnd   = "<!-- storebench:end -->"
)

// UpdateSection writes section (which must start with SectionStart and end
// with SectionEnd) into the markdown file at path: in place of the previous
// section between the markers, or at the end of the file if it has none, or
// as a new file.
func UpdateSection(path, section string) error {
	section = strings.TrimSpace(section)
	if !strings.HasPrefix(section, SectionStart) || !strings.HasSuffix(section, SectionEnd) {
		return errors.New("update section: the section must be enclosed in its markers")
	}
	old, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		old, err = []byte("# Performance\n"), nil
	}
	if err != nil {
		return fmt.Errorf("update section: %w", err)
	}
	doc := string(old)
	start, end := strings.Index(doc, SectionStart), strings.Index(doc, SectionEnd)
	switch {
	case start < 0 && end < 0:
		doc = strings.TrimRight(doc, "\n") + "\n\n" + section + "\n"
	case start >= 0 && end > start && strings.Count(doc, SectionStart) == 1 && strings.Count(doc, SectionEnd) == 1:
		doc = doc[:start] + section + doc[end+len(SectionEnd):]
	default:
		return fmt.Errorf("update section: %s has unbalanced %s / %s markers; fix them by hand", path, SectionStart, SectionEnd)
	}
	// Write a temporary file and rename it, so that an interrupted write
	// never leaves half a document.
	tmp := path + ".storebench-tmp"
	if err := os.WriteFile(tmp, []byte(doc), 0o644); err != nil {
		return fmt.Errorf("update section: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("update section: %w", err)
	}
	return nil
}

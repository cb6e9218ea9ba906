package measure

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Markers returns the comments around the section that the benchmark called
// name owns in a markdown file. Everything outside them belongs to others
// and is left as it is.
func Markers(name string) (start, end string) {
	return "<!-- " + name + ":start -->", "<!-- " + name + ":end -->"
}

// UpdateSection writes section (which must start and end with name's
// Markers) into the markdown file at path: in place of the previous section
// between the markers, or at the end of the file if it has none, or as a new
// file.
func UpdateSection(path, name, section string) error {
	start, end := Markers(name)
	section = strings.TrimSpace(section)
	if !strings.HasPrefix(section, start) || !strings.HasSuffix(section, end) {
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
	i, j := strings.Index(doc, start), strings.Index(doc, end)
	switch {
	case i < 0 && j < 0:
		doc = strings.TrimRight(doc, "\n") + "\n\n" + section + "\n"
	case i >= 0 && j > i && strings.Count(doc, start) == 1 && strings.Count(doc, end) == 1:
		doc = doc[:i] + section + doc[j+len(end):]
	default:
		return fmt.Errorf("update section: %s has unbalanced %s / %s markers; fix them by hand", path, start, end)
	}
	// Write a temporary file and rename it, so that an interrupted write
	// never leaves half a document.
	tmp := path + "." + name + "-tmp"
	if err := os.WriteFile(tmp, []byte(doc), 0o644); err != nil {
		return fmt.Errorf("update section: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("update section: %w", err)
	}
	return nil
}

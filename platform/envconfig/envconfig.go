// Package envconfig fills a service's configuration struct from environment
// variables, so that every process reads its settings the same way: one struct,
// one prefix (ORDER_, PAYMENT_, …), defaults declared next to the fields, and
// secrets masked when the configuration is logged at start.
//
//	type Config struct {
//		HTTPAddr    string        `env:"HTTP_ADDR" default:":8081"`
//		PostgresDSN string        `env:"POSTGRES_DSN" default:"postgres://…" secret:"true"`
//		Timeout     time.Duration `env:"TIMEOUT" default:"5s"`
//	}
//
// Supported field types: string, bool, int, int64, float64, time.Duration and
// []string (comma separated). Nested structs are walked with the same prefix.
package envconfig

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Load fills cfg, a pointer to a struct, from the process environment.
func Load(prefix string, cfg any) error {
	return LoadFrom(prefix, cfg, os.LookupEnv)
}

// Defaults sets every field that has a default tag to that default, as Load
// would with an empty environment. A DefaultConfig function calls it, so code
// that builds a config without the environment (tests) gets the same values.
func Defaults(cfg any) error {
	return LoadFrom("", cfg, func(string) (string, bool) { return "", false })
}

// LoadFrom is Load with a custom lookup, for tests.
func LoadFrom(prefix string, cfg any, lookup func(string) (string, bool)) error {
	v := reflect.ValueOf(cfg)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return errors.New("envconfig: cfg must be a pointer to a struct")
	}
	var errs []error
	walk(v.Elem(), func(f reflect.StructField, fv reflect.Value) {
		name := prefix + f.Tag.Get("env")
		raw, ok := lookup(name)
		if !ok {
			def, hasDefault := f.Tag.Lookup("default")
			if !hasDefault {
				return
			}
			raw = def
		}
		if err := set(fv, raw); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", name, raw, err))
		}
	})
	return errors.Join(errs...)
}

// Attrs describes cfg for a log line, with secret fields masked. Secrets inside
// URLs (a DSN's password) are masked too, keeping the rest readable.
func Attrs(prefix string, cfg any) []slog.Attr {
	var attrs []slog.Attr
	walk(reflect.ValueOf(cfg).Elem(), func(f reflect.StructField, fv reflect.Value) {
		val := fmt.Sprint(fv.Interface())
		if f.Tag.Get("secret") == "true" {
			val = mask(val)
		}
		attrs = append(attrs, slog.String(prefix+f.Tag.Get("env"), val))
	})
	return attrs
}

func mask(val string) string {
	if u, err := url.Parse(val); err == nil && u.Scheme != "" && u.User != nil {
		if _, hasPassword := u.User.Password(); hasPassword {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
		return val
	}
	if val == "" {
		return ""
	}
	return "xxxxx"
}

func walk(v reflect.Value, fn func(reflect.StructField, reflect.Value)) {
	t := v.Type()
	for i := range t.NumField() {
		f, fv := t.Field(i), v.Field(i)
		if !f.IsExported() {
			continue
		}
		if _, ok := f.Tag.Lookup("env"); ok {
			fn(f, fv)
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Time{}) {
			walk(fv, fn)
		}
	}
}

func set(fv reflect.Value, raw string) error {
	switch fv.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return errors.New("not a duration (try 500ms, 5s, 1m)")
		}
		fv.SetInt(int64(d))
		return nil
	case []string:
		var parts []string
		for p := range strings.SplitSeq(raw, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		fv.Set(reflect.ValueOf(parts))
		return nil
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return errors.New("not a boolean (true or false)")
		}
		fv.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return errors.New("not an integer")
		}
		fv.SetInt(n)
	case reflect.Float64:
		x, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return errors.New("not a number")
		}
		fv.SetFloat(x)
	default:
		return fmt.Errorf("unsupported field type %s", fv.Type())
	}
	return nil
}

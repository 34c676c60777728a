package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// A small command-line parser for the client and bench modes. The standard
// flag package cannot express rsocket-cli's grammar cleanly (short and long
// forms of one option, options after the URI, "-i -" meaning stdin), so this
// one accepts:
//
//	--name value   --name=value   -n value   -nvalue   -n=value
//	--flag         -f             (options without a value)
//	--             (everything after it is positional)
//	-              (a positional argument, like any word not starting with -)
//
// An option that takes a value always takes the next argument, even when it
// starts with "-" ("-i -" reads stdin). Options may come before or after the
// positional arguments. Short options are not clustered.

// opt is one option: its names ("-i", "--input"), whether it takes a value
// (metavar != ""), its help text and what to do with it.
type opt struct {
	names   []string
	metavar string
	set     func(v string) error // for options with a value
	on      func()               // for options without one
}

// errUsage marks a command-line error (exit status 2).
type errUsage struct{ msg string }

func (e *errUsage) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &errUsage{fmt.Sprintf(format, a...)} }

func isUsage(err error) bool {
	var u *errUsage
	return errors.As(err, &u)
}

// parseArgs applies args to opts and returns the positional arguments.
func parseArgs(opts []*opt, args []string) ([]string, error) {
	byName := map[string]*opt{}
	for _, o := range opts {
		for _, n := range o.names {
			byName[n] = o
		}
	}
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(pos, args[i+1:]...), nil
		case a == "-" || !strings.HasPrefix(a, "-"):
			pos = append(pos, a)
			continue
		}
		name, value, hasValue := a, "", false
		if strings.HasPrefix(a, "--") {
			if k := strings.IndexByte(a, '='); k >= 0 {
				name, value, hasValue = a[:k], a[k+1:], true
			}
		} else if len(a) > 2 {
			// -ivalue or -i=value
			name, value, hasValue = a[:2], strings.TrimPrefix(a[2:], "="), true
		}
		o := byName[name]
		if o == nil {
			if hint := suggest(name, byName); hint != "" {
				return nil, usagef("unknown option %s (did you mean %s?)", name, hint)
			}
			return nil, usagef("unknown option %s", name)
		}
		if o.metavar == "" {
			if hasValue {
				return nil, usagef("option %s takes no value", name)
			}
			o.on()
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, usagef("option %s needs a value (%s)", name, o.metavar)
			}
			i++
			value = args[i]
		}
		if err := o.set(value); err != nil {
			if isUsage(err) {
				return nil, err
			}
			return nil, usagef("%s %s: %v", name, value, err)
		}
	}
	return pos, nil
}

// suggest returns a known option that differs from name only in case or
// dashes (--metadatapush, --request-n...), for the error message.
func suggest(name string, known map[string]*opt) string {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(strings.TrimLeft(s, "-"), "-", "")) }
	for k := range known {
		if strings.HasPrefix(k, "--") && norm(k) == norm(name) {
			return k
		}
	}
	return ""
}

// Value helpers.

func strOpt(p *string, names ...string) *opt {
	return &opt{names: names, metavar: "VALUE", set: func(v string) error { *p = v; return nil }}
}

func listOpt(p *[]string, names ...string) *opt {
	return &opt{names: names, metavar: "VALUE", set: func(v string) error { *p = append(*p, v); return nil }}
}

func boolOpt(p *bool, names ...string) *opt {
	return &opt{names: names, on: func() { *p = true }}
}

// intOpt parses a decimal integer >= min (values above 2^63-1 saturate).
func intOpt(p *int64, min int64, names ...string) *opt {
	return &opt{names: names, metavar: "N", set: func(v string) error {
		n, err := parseCount(v)
		if err != nil {
			return err
		}
		if n < min {
			return fmt.Errorf("must be at least %d", min)
		}
		*p = n
		return nil
	}}
}

// parseCount parses a decimal count; "1e6", "100k" and "2m" are accepted too,
// and a value too large for int64 saturates.
func parseCount(v string) (int64, error) {
	s := strings.ReplaceAll(strings.TrimSpace(v), "_", "")
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mult, s = 1000, s[:len(s)-1]
	case strings.HasSuffix(s, "m"), strings.HasSuffix(s, "M"):
		mult, s = 1000_000, s[:len(s)-1]
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n != 0 && (n > math.MaxInt64/mult || n < math.MinInt64/mult) {
			if n > 0 {
				return math.MaxInt64, nil
			}
			return math.MinInt64, nil
		}
		return n * mult, nil
	} else if errors.Is(err, strconv.ErrRange) {
		if strings.HasPrefix(s, "-") {
			return math.MinInt64, nil
		}
		return math.MaxInt64, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || strings.ContainsAny(s, "xXpP") {
		return 0, errors.New("not a whole number")
	}
	f *= float64(mult)
	if f >= math.MaxInt64 {
		return math.MaxInt64, nil
	}
	if f <= math.MinInt64 {
		return math.MinInt64, nil
	}
	return int64(f), nil
}

// parseSeconds reads a duration: plain seconds ("5", "0.5") as in rsocket-cli,
// or a Go duration ("500ms", "2m"). It must be positive.
func parseSeconds(v string) (time.Duration, error) {
	s := strings.TrimSpace(v)
	var d time.Duration
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || f > float64(math.MaxInt64)/float64(time.Second) {
			return 0, errors.New("out of range")
		}
		d = time.Duration(f * float64(time.Second))
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, errors.New("want seconds (5, 0.5) or a duration (500ms, 2m)")
	}
	if d <= 0 {
		return 0, errors.New("must be positive")
	}
	return d, nil
}

func durOpt(p *time.Duration, names ...string) *opt {
	return &opt{names: names, metavar: "SECONDS", set: func(v string) error {
		d, err := parseSeconds(v)
		if err != nil {
			return err
		}
		*p = d
		return nil
	}}
}

// kstatus prints kstatus's verdict (sigs.k8s.io/cli-utils/pkg/kstatus/status, the library Flux and kpt wait
// with) on each object it reads: YAML or JSON, several documents per input, a `kind: List` taken item by
// item, from the files named as arguments or else from stdin. One JSON line per object: apiVersion, kind,
// namespace, name, status (Current, InProgress, Failed, Terminating, NotFound or Unknown) and message.
// tests/unit/test_kstatus.py and the e2e tests read them.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

func main() {
	out := json.NewEncoder(os.Stdout)
	if len(os.Args) < 2 {
		check(printAll(os.Stdin, "stdin", out))
		return
	}
	for _, path := range os.Args[1:] {
		file, err := os.Open(path)
		check(err)
		check(printAll(file, path, out))
		check(file.Close())
	}
}

func printAll(input io.Reader, name string, out *json.Encoder) error {
	decoder := utilyaml.NewYAMLOrJSONDecoder(input, 4096)
	for {
		var document json.RawMessage
		if err := decoder.Decode(&document); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if len(document) == 0 || string(document) == "null" {
			continue // an empty document, as between two `---`
		}
		// the unstructured decoder reads numbers as int64, as kstatus expects (not float64)
		decoded, _, err := unstructured.UnstructuredJSONScheme.Decode(document, nil, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		objects := []unstructured.Unstructured{}
		switch typed := decoded.(type) {
		case *unstructured.UnstructuredList:
			objects = typed.Items
		case *unstructured.Unstructured:
			objects = append(objects, *typed)
		}
		for i := range objects {
			if err := printOne(&objects[i], out); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
}

func printOne(u *unstructured.Unstructured, out *json.Encoder) error {
	result, err := status.Compute(u)
	if err != nil {
		return fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return out.Encode(map[string]string{
		"apiVersion": u.GetAPIVersion(),
		"kind":       u.GetKind(),
		"namespace":  u.GetNamespace(),
		"name":       u.GetName(),
		"status":     result.Status.String(),
		"message":    result.Message,
	})
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// Command manifest-check reads rendered Kubernetes manifests (multi-document YAML on
// stdin) and reports what kubernetes-validate cannot check offline:
//
//   - every Deployment, StatefulSet, DaemonSet, Job and Pod template is evaluated against
//     the Pod Security Standards "restricted" profile (latest version) with the same
//     evaluator the API server's PodSecurity admission uses;
//   - every ServiceMonitor and PrometheusRule (monitoring.coreos.com/v1) is decoded
//     strictly into the Prometheus Operator's Go API types, so unknown fields and wrong
//     types fail, and the fields the operator needs are checked to be present.
//
// It prints one line per finding and exits 1 when there is any, 2 on unreadable input.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"
)

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
}

type checker struct {
	evaluator policy.Evaluator
	level     psapi.LevelVersion
	findings  []string
	checked   map[string]int
}

func main() {
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "manifest-check: building the pod security evaluator:", err)
		os.Exit(2)
	}
	c := &checker{
		evaluator: evaluator,
		level:     psapi.LevelVersion{Level: psapi.LevelRestricted, Version: psapi.LatestVersion()},
		checked:   map[string]int{},
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(os.Stdin))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "manifest-check: reading YAML:", err)
			os.Exit(2)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		if err := c.check(doc); err != nil {
			fmt.Fprintln(os.Stderr, "manifest-check:", err)
			os.Exit(2)
		}
	}
	for _, f := range c.findings {
		fmt.Println(f)
	}
	fmt.Fprintf(os.Stderr, "manifest-check: checked %v; %d finding(s)\n", c.checked, len(c.findings))
	if len(c.findings) > 0 {
		os.Exit(1)
	}
}

func (c *checker) check(doc []byte) error {
	var meta typeMeta
	if err := yaml.Unmarshal(doc, &meta); err != nil {
		return fmt.Errorf("not a manifest: %w", err)
	}
	if meta.Kind == "" {
		return nil // a document of comments only
	}
	name := fmt.Sprintf("%s/%s", meta.Kind, meta.Metadata.Name)
	switch {
	case meta.APIVersion == "apps/v1" && meta.Kind == "Deployment":
		var o appsv1.Deployment
		return c.pod(name, doc, &o, func() (*metav1.ObjectMeta, *corev1.PodSpec) {
			return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec
		})
	case meta.APIVersion == "apps/v1" && meta.Kind == "StatefulSet":
		var o appsv1.StatefulSet
		return c.pod(name, doc, &o, func() (*metav1.ObjectMeta, *corev1.PodSpec) {
			return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec
		})
	case meta.APIVersion == "apps/v1" && meta.Kind == "DaemonSet":
		var o appsv1.DaemonSet
		return c.pod(name, doc, &o, func() (*metav1.ObjectMeta, *corev1.PodSpec) {
			return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec
		})
	case meta.APIVersion == "batch/v1" && meta.Kind == "Job":
		var o batchv1.Job
		return c.pod(name, doc, &o, func() (*metav1.ObjectMeta, *corev1.PodSpec) {
			return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec
		})
	case meta.APIVersion == "v1" && meta.Kind == "Pod":
		var o corev1.Pod
		return c.pod(name, doc, &o, func() (*metav1.ObjectMeta, *corev1.PodSpec) { return &o.ObjectMeta, &o.Spec })
	case meta.APIVersion == "monitoring.coreos.com/v1" && meta.Kind == "ServiceMonitor":
		var o monitoringv1.ServiceMonitor
		if !c.decode(name, doc, &o) {
			return nil
		}
		c.serviceMonitor(name, &o)
	case meta.APIVersion == "monitoring.coreos.com/v1" && meta.Kind == "PrometheusRule":
		var o monitoringv1.PrometheusRule
		if !c.decode(name, doc, &o) {
			return nil
		}
		c.prometheusRule(name, &o)
	case strings.HasPrefix(meta.APIVersion, "monitoring.coreos.com/"):
		c.add(name, "unsupported monitoring.coreos.com kind or version %s", meta.APIVersion)
	}
	return nil
}

// decode is strict: unknown fields and wrong types are findings.
func (c *checker) decode(name string, doc []byte, into any) bool {
	c.checked[strings.SplitN(name, "/", 2)[0]]++
	if err := yaml.UnmarshalStrict(doc, into); err != nil {
		c.add(name, "does not decode strictly: %v", err)
		return false
	}
	return true
}

func (c *checker) pod(name string, doc []byte, into any, spec func() (*metav1.ObjectMeta, *corev1.PodSpec)) error {
	if !c.decode(name, doc, into) {
		return nil
	}
	meta, podSpec := spec()
	for _, r := range c.evaluator.EvaluatePod(c.level, meta, podSpec) {
		if !r.Allowed {
			c.add(name, "violates PodSecurity %q: %s (%s)", c.level.String(), r.ForbiddenReason, r.ForbiddenDetail)
		}
	}
	return nil
}

func (c *checker) serviceMonitor(name string, o *monitoringv1.ServiceMonitor) {
	if len(o.Spec.Selector.MatchLabels) == 0 && len(o.Spec.Selector.MatchExpressions) == 0 {
		c.add(name, "spec.selector is empty: it would select every Service in the namespace")
	}
	if len(o.Spec.Endpoints) == 0 {
		c.add(name, "spec.endpoints is empty: nothing would be scraped")
	}
	for i, e := range o.Spec.Endpoints {
		if e.Port == "" && e.TargetPort == nil {
			c.add(name, "spec.endpoints[%d] names neither port nor targetPort", i)
		}
	}
}

func (c *checker) prometheusRule(name string, o *monitoringv1.PrometheusRule) {
	if len(o.Spec.Groups) == 0 {
		c.add(name, "spec.groups is empty")
	}
	seen := map[string]bool{}
	for i, g := range o.Spec.Groups {
		if g.Name == "" || seen[g.Name] {
			c.add(name, "spec.groups[%d].name %q is empty or not unique", i, g.Name)
		}
		seen[g.Name] = true
		if len(g.Rules) == 0 {
			c.add(name, "spec.groups[%d] (%s) has no rules", i, g.Name)
		}
		for j, r := range g.Rules {
			if (r.Alert == "") == (r.Record == "") {
				c.add(name, "spec.groups[%d].rules[%d] must set exactly one of alert and record", i, j)
			}
			if r.Expr.String() == "" {
				c.add(name, "spec.groups[%d].rules[%d] (%s%s) has no expr", i, j, r.Alert, r.Record)
			}
		}
	}
}

func (c *checker) add(name, format string, args ...any) {
	c.findings = append(c.findings, name+": "+fmt.Sprintf(format, args...))
}

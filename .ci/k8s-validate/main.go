// Command k8s-validate checks the objects `helm template deploy/helm/wsgate` renders (a YAML
// stream on stdin) as Kubernetes would read them, without a cluster: each object is decoded
// strictly into its k8s.io/api type (an unknown or misspelt field, or a wrong type, is an error),
// names and labels are validated with apimachinery's own rules, and the references between the
// objects must hold: selectors match the pod labels, named ports exist, every ConfigMap, Secret
// and key referenced is rendered, volume mounts name volumes, and terminationGracePeriodSeconds
// is the config's shutdown.gracePeriod plus the preStop sleep plus 5 s (as the chart promises).
//
// It is its own module so that wsgate's go.mod does not carry the Kubernetes API types;
// .ci/deploy-checks runs it. Usage: helm template t deploy/helm/wsgate | go run . [-existing-secret]
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// serviceMonitor is the part of prometheus-operator's ServiceMonitor (monitoring.coreos.com/v1)
// the chart renders; decoded strictly too, so a field outside it is reported.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"endpoints"`
	} `json:"spec"`
}

type objects struct {
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	configMaps  map[string]*corev1.ConfigMap
	secrets     map[string]*corev1.Secret
	pdbs        []*policyv1.PodDisruptionBudget
	monitors    []*serviceMonitor
	kinds       []string
}

func main() {
	existingSecret := flag.String("existing-secret", "", "a Secret the chart references but does not render (management.existingSecret)")
	flag.Parse()
	objs, errs := decode(os.Stdin)
	errs = append(errs, check(objs, *existingSecret)...)
	if len(errs) > 0 {
		for _, err := range errs {
			fmt.Fprintln(os.Stderr, "k8s-validate:", err)
		}
		os.Exit(1)
	}
	sort.Strings(objs.kinds)
	fmt.Printf("k8s-validate: %d objects valid (%s)\n", len(objs.kinds), strings.Join(objs.kinds, ", "))
}

// decode splits the stream at "---" lines and decodes each object strictly into its type.
func decode(r io.Reader) (*objects, []error) {
	o := &objects{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
	var errs []error
	var docs []string
	var cur strings.Builder
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "---") {
			docs = append(docs, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteString(sc.Text() + "\n")
	}
	docs = append(docs, cur.String())
	if err := sc.Err(); err != nil {
		return o, []error{err}
	}
	for _, doc := range docs {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			errs = append(errs, fmt.Errorf("not YAML: %v", err))
			continue
		}
		if tm.Kind == "" && strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var obj any
		var meta *metav1.ObjectMeta
		switch tm.APIVersion + "/" + tm.Kind {
		case "apps/v1/Deployment":
			d := &appsv1.Deployment{}
			obj, meta = d, &d.ObjectMeta
		case "v1/Service":
			s := &corev1.Service{}
			obj, meta = s, &s.ObjectMeta
		case "v1/ConfigMap":
			c := &corev1.ConfigMap{}
			obj, meta = c, &c.ObjectMeta
		case "v1/Secret":
			s := &corev1.Secret{}
			obj, meta = s, &s.ObjectMeta
		case "policy/v1/PodDisruptionBudget":
			p := &policyv1.PodDisruptionBudget{}
			obj, meta = p, &p.ObjectMeta
		case "monitoring.coreos.com/v1/ServiceMonitor":
			m := &serviceMonitor{}
			obj, meta = m, &m.ObjectMeta
		default:
			errs = append(errs, fmt.Errorf("unexpected object %s %s", tm.APIVersion, tm.Kind))
			continue
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", tm.Kind, err))
			continue
		}
		name := tm.Kind + " " + meta.Name
		for _, msg := range validation.IsDNS1123Subdomain(meta.Name) {
			errs = append(errs, fmt.Errorf("%s: name: %s", name, msg))
		}
		errs = append(errs, checkLabels(name+": metadata.labels", meta.Labels)...)
		switch v := obj.(type) {
		case *appsv1.Deployment:
			o.deployments = append(o.deployments, v)
		case *corev1.Service:
			o.services = append(o.services, v)
		case *corev1.ConfigMap:
			o.configMaps[meta.Name] = v
		case *corev1.Secret:
			o.secrets[meta.Name] = v
		case *policyv1.PodDisruptionBudget:
			o.pdbs = append(o.pdbs, v)
		case *serviceMonitor:
			o.monitors = append(o.monitors, v)
		}
		o.kinds = append(o.kinds, name)
	}
	return o, errs
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func checkLabels(where string, ls map[string]string) []error {
	var errs []error
	for k, v := range ls {
		for _, msg := range validation.IsQualifiedName(k) {
			errs = append(errs, fmt.Errorf("%s: key %q: %s", where, k, msg))
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			errs = append(errs, fmt.Errorf("%s: %s=%q: %s", where, k, v, msg))
		}
	}
	return errs
}

// check validates what ties the objects together.
func check(o *objects, existingSecret string) []error {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if len(o.deployments) != 1 {
		fail("want 1 Deployment, got %d", len(o.deployments))
		return errs
	}
	d := o.deployments[0]
	pod := labels.Set(d.Spec.Template.Labels)
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || d.Spec.Selector == nil || sel.Empty() || !sel.Matches(pod) {
		fail("Deployment %s: selector %v does not select its pod labels %v (%v)", d.Name, d.Spec.Selector, pod, err)
	}
	errs = append(errs, checkLabels("Deployment pod template labels", d.Spec.Template.Labels)...)
	spec := d.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		fail("want 1 container, got %d", len(spec.Containers))
		return errs
	}
	c := spec.Containers[0]
	if c.Image == "" {
		fail("container %s has no image", c.Name)
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		for _, msg := range validation.IsValidPortName(p.Name) {
			fail("container port %q: %s", p.Name, msg)
		}
		ports[p.Name] = p.ContainerPort
	}
	probe := func(what string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil {
			fail("container %s has no HTTP %s", c.Name, what)
			return
		}
		if p.HTTPGet.Path != path {
			fail("%s path %q, want %q", what, p.HTTPGet.Path, path)
		}
		if !portExists(p.HTTPGet.Port, ports) {
			fail("%s port %s is not a container port", what, p.HTTPGet.Port.String())
		}
	}
	probe("readinessProbe", c.ReadinessProbe, "/readyz")
	probe("livenessProbe", c.LivenessProbe, "/healthz")
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
		if v.ConfigMap != nil && o.configMaps[v.ConfigMap.Name] == nil {
			fail("volume %s: ConfigMap %s is not rendered", v.Name, v.ConfigMap.Name)
		}
	}
	for _, m := range c.VolumeMounts {
		if _, ok := volumes[m.Name]; !ok {
			fail("volumeMount %s names no volume", m.Name)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			continue
		}
		ref := e.ValueFrom.SecretKeyRef
		if ref.Name == existingSecret && existingSecret != "" {
			continue
		}
		s := o.secrets[ref.Name]
		if s == nil {
			fail("env %s: Secret %s is not rendered", e.Name, ref.Name)
			continue
		}
		if _, ok := s.StringData[ref.Key]; !ok {
			if _, ok := s.Data[ref.Key]; !ok {
				fail("env %s: Secret %s has no key %s", e.Name, ref.Name, ref.Key)
			}
		}
	}
	// terminationGracePeriodSeconds = shutdown.gracePeriod + preStop sleep + 5.
	grace, err := configGrace(o, spec.Volumes)
	if err != nil {
		fail("%v", err)
	} else {
		var sleep int64
		if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
			sleep = c.Lifecycle.PreStop.Sleep.Seconds
		} else {
			fail("container %s has no preStop sleep", c.Name)
		}
		want := int64(grace/time.Second) + sleep + 5
		if spec.TerminationGracePeriodSeconds == nil || *spec.TerminationGracePeriodSeconds != want {
			fail("terminationGracePeriodSeconds %v, want %d (shutdown.gracePeriod %s + preStop %ds + 5)",
				ptrString(spec.TerminationGracePeriodSeconds), want, grace, sleep)
		}
	}
	svcPorts := map[string]bool{}
	for _, s := range o.services {
		if !labels.SelectorFromSet(s.Spec.Selector).Matches(pod) || len(s.Spec.Selector) == 0 {
			fail("Service %s: selector %v does not select the pods %v", s.Name, s.Spec.Selector, pod)
		}
		for _, p := range s.Spec.Ports {
			svcPorts[p.Name] = true
			if !portExists(p.TargetPort, ports) {
				fail("Service %s: targetPort %s is not a container port", s.Name, p.TargetPort.String())
			}
		}
	}
	for _, p := range o.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(pod) {
			fail("PodDisruptionBudget %s: selector does not select the pods (%v)", p.Name, err)
		}
	}
	for _, m := range o.monitors {
		sel, err := metav1.LabelSelectorAsSelector(&m.Spec.Selector)
		matched := false
		for _, s := range o.services {
			if err == nil && !sel.Empty() && sel.Matches(labels.Set(s.Labels)) {
				matched = true
			}
		}
		if !matched {
			fail("ServiceMonitor %s: selector selects no rendered Service", m.Name)
		}
		for _, e := range m.Spec.Endpoints {
			if !svcPorts[e.Port] {
				fail("ServiceMonitor %s: port %q is not a Service port name", m.Name, e.Port)
			}
			if e.Path != "/metrics" {
				fail("ServiceMonitor %s: path %q, want /metrics", m.Name, e.Path)
			}
		}
	}
	return errs
}

func portExists(p intstr.IntOrString, named map[string]int32) bool {
	if p.Type == intstr.String {
		_, ok := named[p.StrVal]
		return ok
	}
	for _, n := range named {
		if n == p.IntVal {
			return true
		}
	}
	return false
}

// configGrace reads shutdown.gracePeriod from the wsgate config in the mounted ConfigMap
// (wsgate's default, 10s, when the key is absent).
func configGrace(o *objects, vols []corev1.Volume) (time.Duration, error) {
	for _, v := range vols {
		if v.ConfigMap == nil || o.configMaps[v.ConfigMap.Name] == nil {
			continue
		}
		raw, ok := o.configMaps[v.ConfigMap.Name].Data["wsgate.yaml"]
		if !ok {
			return 0, fmt.Errorf("ConfigMap %s has no wsgate.yaml", v.ConfigMap.Name)
		}
		var cfg struct {
			Shutdown struct {
				GracePeriod string `json:"gracePeriod"`
			} `json:"shutdown"`
		}
		if err := yaml.Unmarshal([]byte(raw), &cfg); err != nil {
			return 0, fmt.Errorf("ConfigMap %s: wsgate.yaml: %v", v.ConfigMap.Name, err)
		}
		if cfg.Shutdown.GracePeriod == "" {
			return 10 * time.Second, nil
		}
		return time.ParseDuration(cfg.Shutdown.GracePeriod)
	}
	return 0, errors.New("no mounted ConfigMap holds wsgate.yaml")
}

func ptrString(p *int64) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

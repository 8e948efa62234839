package routing

import "testing"

// benchBody is a typical ~200-byte chat message.
const benchBody = `{"action":"sendmessage","data":{"room":"lobby","text":"hello everyone, how is it going today?",` +
	`"meta":{"type":"chat","client":"web-1.4.2"}},"id":"6f1c9a2e-3b7d-4c55-9d2e-1a2b3c4d5e6f","ts":1718000000000}`

func BenchmarkEval(b *testing.B) {
	for _, bc := range []struct{ name, expr string }{
		{"action", "$request.body.action"},
		{"nested", "$request.body.data.meta.type"},
		{"mixed", "${request.body.data.room}/${request.body.action}"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e, err := Compile(bc.expr)
			if err != nil {
				b.Fatal(err)
			}
			body := []byte(benchBody)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := e.Eval(body); !ok {
					b.Fatal("not ok")
				}
			}
		})
	}
}

// Echo server on gorilla/websocket (Debian golang-github-gorilla-websocket-dev, 1.5), as in its
// examples/echo: read a message, write it back; on the client's Close, gorilla's default close handler
// writes the echo, ReadMessage returns, and the deferred Close ends TCP. Its defaults (no compression).
//
// Listens on 127.0.0.1 twice, plain and TLS (--cert/--key), prints {"ws": <port>, "wss": <port>} once
// both accept, exits on SIGTERM or SIGINT.
package main

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/gorilla/websocket"
)

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func echo(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	for {
		mt, message, err := c.ReadMessage()
		if err != nil {
			return
		}
		if err := c.WriteMessage(mt, message); err != nil {
			return
		}
	}
}

func listen() net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	return ln
}

func main() {
	certFile := flag.String("cert", "", "certificate (PEM)")
	keyFile := flag.String("key", "", "private key (PEM)")
	flag.Parse()
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatal(err)
	}
	handler := http.HandlerFunc(echo)
	plain, secure := listen(), listen()
	go func() { _ = http.Serve(plain, handler) }()
	go func() { _ = http.Serve(tls.NewListener(secure, &tls.Config{Certificates: []tls.Certificate{cert}}), handler) }()
	ready, _ := json.Marshal(map[string]int{
		"ws":  plain.Addr().(*net.TCPAddr).Port,
		"wss": secure.Addr().(*net.TCPAddr).Port,
	})
	os.Stdout.Write(append(ready, '\n'))
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}

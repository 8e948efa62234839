package management

import (
	"context"
	"net/http"

	"github.com/wsgate/wsgate/internal/hub"
)

// dispatch runs one routed, authenticated operation and writes its success answer. A returned
// *apiError is written as is; any other error is a Backend error mapped by backendError.
func (h *Handler) dispatch(ctx context.Context, w http.ResponseWriter, r *http.Request, rt route, body []byte) (int, error) {
	b := h.o.Backend
	switch rt.op {
	case opPostToConnection:
		if err := b.PostToConnection(ctx, rt.id, body); err != nil {
			return 0, err
		}
		return writeEmpty(w, http.StatusOK)

	case opGetConnection:
		c, err := b.GetConnection(ctx, rt.id)
		if err != nil {
			return 0, err
		}
		return writeJSON(w, http.StatusOK, toConnectionJSON(c))

	case opDeleteConnection:
		if err := b.DeleteConnection(ctx, rt.id); err != nil {
			return 0, err
		}
		return writeEmpty(w, http.StatusNoContent)

	case opJoinGroup, opLeaveGroup:
		if ae := checkName("group", rt.group); ae != nil {
			return 0, ae
		}
		join := b.JoinGroup
		if rt.op == opLeaveGroup {
			join = b.LeaveGroup
		}
		if err := join(ctx, rt.id, rt.group); err != nil {
			return 0, err
		}
		return writeEmpty(w, http.StatusNoContent)

	case opPostToUser:
		if ae := checkName("user id", rt.id); ae != nil {
			return 0, ae
		}
		n, err := b.PostToUser(ctx, rt.id, body)
		if err == nil && n == 0 { // no live connection, however the Backend says it
			err = hub.ErrGone
		}
		if err != nil {
			return 0, err
		}
		return writeJSON(w, http.StatusOK, userDeliveredJSON{UserID: rt.id, Delivered: n})

	case opDeleteUser:
		if ae := checkName("user id", rt.id); ae != nil {
			return 0, ae
		}
		n, err := b.DeleteUser(ctx, rt.id)
		if err == nil && n == 0 {
			err = hub.ErrGone
		}
		if err != nil {
			return 0, err
		}
		return writeJSON(w, http.StatusOK, userDisconnectedJSON{UserID: rt.id, Disconnected: n})

	case opGetUser:
		if ae := checkName("user id", rt.id); ae != nil {
			return 0, ae
		}
		ps, err := b.Presence(ctx, []string{rt.id})
		if err != nil {
			return 0, err
		}
		p := presenceJSON{UserID: rt.id}
		if len(ps) > 0 {
			p = toPresenceJSON(ps[0])
		}
		return writeJSON(w, http.StatusOK, p)

	case opGetUsers, opListOnline:
		q, ae := parseUsersQuery(r.URL.RawQuery)
		if ae != nil {
			return 0, ae
		}
		if rt.op == opGetUsers {
			ps, err := b.Presence(ctx, q.ids)
			if err != nil {
				return 0, err
			}
			return writeJSON(w, http.StatusOK, toUsersJSON(ps, ""))
		}
		ps, next, err := b.OnlineUsers(ctx, q.cursor, q.limit)
		if err != nil {
			return 0, err
		}
		return writeJSON(w, http.StatusOK, toUsersJSON(ps, next))

	case opPostToGroup:
		if ae := checkName("group", rt.group); ae != nil {
			return 0, ae
		}
		n, err := b.PostToGroup(ctx, rt.group, body)
		if err != nil {
			return 0, err
		}
		return writeJSON(w, http.StatusOK, groupDeliveredJSON{Group: rt.group, Delivered: n})

	case opGetGroup:
		if ae := checkName("group", rt.group); ae != nil {
			return 0, ae
		}
		cs, err := b.GroupMembers(ctx, rt.group)
		if err != nil {
			return 0, err
		}
		return writeJSON(w, http.StatusOK, toGroupJSON(rt.group, cs))

	case opListNodes:
		nodes, err := b.NodeConnections(ctx)
		if err != nil {
			return 0, err
		}
		return writeJSON(w, http.StatusOK, toNodesJSON(nodes))

	case opPostBatch:
		return h.postBatch(ctx, w, body)

	case opBroadcast:
		n, err := b.Broadcast(ctx, body)
		if err != nil {
			return 0, err
		}
		return writeJSON(w, http.StatusOK, broadcastJSON{Delivered: n})
	}
	return 0, errForbidden // parseRoute returns no other op
}

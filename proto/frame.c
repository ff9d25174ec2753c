#include "frame.h"

#include <stdlib.h>

enum frame_status frame_decode(const uint8_t *buf, size_t len, size_t max_payload,
			       struct frame *out)
{
	out->payload = NULL;
	out->payload_len = 0;
	out->frame_len = 0;
	out->announced = 0;
	if (len < FRAME_HEADER_BYTES)
		return FRAME_NEED_MORE;

	size_t announced =
	    (size_t)buf[0] << 24 | (size_t)buf[1] << 16 | (size_t)buf[2] << 8 | (size_t)buf[3];
	out->announced = announced;
	if (announced > max_payload)
		return FRAME_TOO_LARGE;
	if (len - FRAME_HEADER_BYTES < announced)
		return FRAME_NEED_MORE;

	out->payload = buf + FRAME_HEADER_BYTES;
	out->payload_len = announced;
	out->frame_len = FRAME_HEADER_BYTES + announced;
	return FRAME_COMPLETE;
}

void frame_put_header(uint8_t *out, uint32_t payload_len)
{
	out[0] = (uint8_t)(payload_len >> 24);
	out[1] = (uint8_t)(payload_len >> 16);
	out[2] = (uint8_t)(payload_len >> 8);
	out[3] = (uint8_t)payload_len;
}

uint8_t *frame_pack(const ProtobufCMessage *msg, size_t max_payload, size_t *out_len)
{
	*out_len = 0;
	size_t size = protobuf_c_message_get_packed_size(msg);
	if (size > max_payload || size > UINT32_MAX)
		return NULL;
	uint8_t *buf = malloc(FRAME_HEADER_BYTES + size);
	if (buf == NULL)
		return NULL;
	frame_put_header(buf, (uint32_t)size);
	protobuf_c_message_pack(msg, buf + FRAME_HEADER_BYTES);
	*out_len = FRAME_HEADER_BYTES + size;
	return buf;
}

/* objects.c: values of the OBJECTS field (see record.h). */
#include "audit/record.h"

const char *
audit_objects_value(const char *value, char *out, size_t outsz)
{
	size_t o = 0;

	if (outsz == 0)
		return out;
	for (; value != NULL && *value != '\0'; value++) {
		const char *put = *value == '%' ? "%25" : *value == ' ' ?
		    "%20" : NULL;
		size_t n = put != NULL ? 3 : 1;

		if (o + n >= outsz)
			break;
		if (put != NULL) {
			out[o++] = put[0];
			out[o++] = put[1];
			out[o++] = put[2];
		} else
			out[o++] = *value;
	}
	out[o] = '\0';
	return out;
}

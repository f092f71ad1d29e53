/*
 * c_entry.h - what every C entry point of the plugin shares: MVKE_FAISS_CATCH closes its try
 * block, so that no exception crosses the C boundary and faiss_get_last_error() shows the
 * message, with FAISS's own C API return codes.
 */
#ifndef MVKE_PLUGIN_C_ENTRY_H
#define MVKE_PLUGIN_C_ENTRY_H

#include <exception>
#include <stdexcept>

#include <faiss/c_api/error_impl.h>
#include <faiss/impl/FaissException.h>

/* The same codes as FAISS's own C API: -2 a FAISS error, -4 another std::exception, -1 other. */
#define MVKE_FAISS_CATCH                                                                       \
    catch (const faiss::FaissException &e) {                                                   \
        faiss_last_exception = std::make_exception_ptr(e);                                     \
        return -2;                                                                             \
    }                                                                                          \
    catch (const std::exception &e) {                                                          \
        faiss_last_exception = std::make_exception_ptr(e);                                     \
        return -4;                                                                             \
    }                                                                                          \
    catch (...) {                                                                              \
        faiss_last_exception = std::make_exception_ptr(std::runtime_error("mvke: unknown error")); \
        return -1;                                                                             \
    }                                                                                          \
    return 0;

#endif

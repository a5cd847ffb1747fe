# Compiles files into the binary as a table of {name, bytes, size}, so the service needs no file at
# run time. The generated source is rebuilt whenever one of the files changes.
function(mx_embed_files output table_name glob)
  file(GLOB files CONFIGURE_DEPENDS ${glob})
  list(SORT files)
  add_custom_command(
    OUTPUT "${output}"
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${output} -DTABLE=${table_name} "-DFILES=${files}"
            -P ${PROJECT_SOURCE_DIR}/cmake/EmbedGenerate.cmake
    DEPENDS ${files} ${PROJECT_SOURCE_DIR}/cmake/EmbedGenerate.cmake
    COMMENT "Embedding ${table_name}"
    VERBATIM)
endfunction()
